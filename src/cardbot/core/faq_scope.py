"""What a question is about: another product or institution, a card topic no entry covers, or
a request for a person. Checked before the FAQ's lexical matching, on normalised text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

OTHER_SUBJECT = "other"  # names a different product, service or institution: not ours
UNCOVERED = "uncovered"  # about the card, on a topic no entry answers: not sure, ask a person


@dataclass(frozen=True)
class Topic:
    """A family of cues (one pattern) and what finding one means."""

    name: str
    kind: str
    chinese: re.Pattern[str]
    english: re.Pattern[str]

    def found(self, text: str) -> bool:
        """True when the normalised text contains one of the cues (each language's cues are
        tried only on text with letters of that script)."""
        if _HAS_CJK.search(text) and self.chinese.search(text):
            return True
        return bool(_HAS_LATIN.search(text) and self.english.search(text))


_HAS_CJK = re.compile(r"[\u3400-\u9fff]")
_HAS_LATIN = re.compile(r"[a-z]")


def _topic(name: str, kind: str, zh: str, en: str) -> Topic:
    english = re.compile(rf"\b(?:{en})(?![a-z0-9])")
    return Topic(name, kind, re.compile(zh), english)


# The card itself: a question that names it is about us, whatever else it names.
OUR_PRODUCT = re.compile(
    r"电销|(?<![a-z])(telemarketing|telesales|calling card|cold[- ]calling)(?![a-z])"
)

# Products, services, institutions and processes that are not this review. The patterns are
# phrases, not single words we share (营业执照 alone is one of our documents; 办营业执照 is not).
OTHER_SUBJECTS = (
    _topic(
        "finance",
        OTHER_SUBJECT,
        r"银行|房贷|车贷|贷款|网贷|信用卡|征信|信用报告|额度|公积金|理财|股票|基金|比特币|保险|"
        r"理赔|对公账户|分期|借呗|花呗|白条",
        r"banks?|banking|mortgages?|home loans?|car loans?|loans?|credit cards?|credit limit|"
        r"credit reports?|insurance|insurance claim|stocks?|bitcoin|crypto\w*|paypal|stripe|"
        r"tax refund|refinanc\w*",
    ),
    _topic(
        "shops-and-platforms",
        OTHER_SUBJECT,
        r"抖音|淘宝|天猫|京东|拼多多|美团|饿了么|快手|微信支付|支付宝|入驻|小程序|上架|应用商店|"
        r"网店|亚马逊|直播间|电商|开户|公众号|企业微信|带货",
        r"amazon|shopify|tiktok|douyin|taobao|ebay|etsy|app ?store|google play|"
        r"seller accounts?|merchant accounts?|tiktok shop|online store|wechat pay|alipay|apple|"
        r"an app|my app|app review",
    ),
    _topic(
        "education-and-exams",
        OTHER_SUBJECT,
        r"考研|考试|高考|中考|成绩|录取|学校|大学|学历|学位|教师资格|资格证|留学|入学|四六级|"
        r"考公|公务员|论文",
        r"exams?|admissions?|university|universities|college|school|degree|scholarships?|"
        r"postgraduate|gaokao|ielts|toefl|thesis",
    ),
    _topic(
        "government-papers",
        OTHER_SUBJECT,
        r"签证|拒签|护照(办理|续签|到期|过期|换发|补办|更新)|(办|换|续)护照|驾照|驾驶证|"
        r"身份证(补办|换证)|户口|社保|医保|报销|居住证|通行证|结婚证|出入境|工作许可|许可证|健康证|"
        r"年检|资质认证|平台认证|去哪(里|儿)?(办|换|补|注销|变更)",
        r"visas?|passport renewal|renew (my |a )?passport|driving (licen[cs]e|test|school)|"
        r"driver'?s licen[cs]e|permits?|health certificate|social security|hukou|"
        r"(id card|passport) (replaced|renewed)|replace (my |an )?id card",
    ),
    _topic(
        "company-paperwork",
        OTHER_SUBJECT,
        r"营业执照(怎么|如何|去哪里?|在哪里?|哪里|可以)?(办理|申请|注册|年报|年检|注销|变更)|"
        r"(办理|申请|注册|办|领)(个|一个|一张)?营业执照|注册(一家|个|一个)?(新)?公司|公司注册|"
        r"公司注销|注销公司|工商变更|(变更|更换)(公司)?(法人|法定代表人)(需要|要)?(什么|哪些)"
        r"(手续|流程)|年报|商标|专利|高新|备案|icp|税务登记证?(怎么|如何|去哪里?|在哪里?|哪里)"
        r"(办|申请|登记)|个税|个人所得税|退税|发票|报税|纳税申报|记账",
        r"(get|apply for|obtain|register for|renew) (a |an |my |the )?business licen[cs]e|"
        r"register (a |my |our )?(new )?(company|business)|company registration|trademarks?|"
        r"patents?|income tax|file (my )?tax(es)?|tax returns?|register for tax|invoices?|"
        r"how (do|can|to) (i |we )?change (the |our |my )?(company'?s )?legal rep\w*",
    ),
    _topic(
        "other-phone-services",
        OTHER_SUBJECT,
        r"10086|10010|10000|营业厅|热线|宽带|流量卡|流量套餐|携号转网|物联网卡|(移动|联通|电信)"
        r"(的|公司)?(号码|号|套餐|卡|宽带|营业厅|客服|流量)|联通|工信部|12321|诈骗|被骗|"
        r"拦截|防骚扰",
        r"china (mobile|unicom|telecom)|broadband|internet|wi-?fi|port (my |the )?number|"
        r"hotline|regulator|miit|scam(med)?|block (telemarketing |spam |unwanted )?calls|"
        r"record(ing)? (phone )?calls|spam calls|robocalls?|auto-?dial\w*",
    ),
    _topic(
        "everyday-things",
        OTHER_SUBJECT,
        r"代金券|优惠券|红包|积分|快递到|包裹|退货|网购|外卖|天气|下雨|笑话|电影|火锅|减肥|菜谱|"
        r"星期几|几点了|截屏|写(一首|首)?诗|推荐(几本|一本)?书",
        r"vouchers?|coupons?|gift cards?|parcel|my order|order status|return (an item|something)|"
        r"weather|jokes?|movies?|football|recipe|dumplings|capital of|translate|poems?|"
        r"cover letter|reset (my |the )?(iphone|phone|android|password)|telegram account|"
        r"times \d+",
    ),
)

# Things about the card itself that no entry answers (until staff add one).
UNCOVERED_TOPICS = (
    _topic(
        "refund",
        UNCOVERED,
        r"退费|退款|退钱|退卡|押金|退回费用",
        r"refunds?|refunded|money back|reimburs\w*|deposit",
    ),
    _topic(
        "lost-or-replaced",
        UNCOVERED,
        r"补卡|换卡|换一张|卡(丢|掉|坏|被偷|遗失|损坏|不见)|(丢|遗失|损坏|坏)了?的?(电销)?卡|"
        r"补办(电销)?卡|卡.{0,8}补办|丢失后|丢了怎么办",
        r"lost (my |the |a |our )?(telemarketing )?(card|sim)|(card|sim) (was |got |is )?(lost|"
        r"stolen|broken|damaged)|replace(ment)? (a |the |my |this )?(lost |broken |damaged "
        r"|new )?(card|sim)|new (card|sim)",
    ),
    _topic(
        "activation",
        UNCOVERED,
        r"激活|开通|开卡|启用",
        r"activat\w*|switch (it|the card|the sim) on",
    ),
    _topic(
        "pricing",
        UNCOVERED,
        r"多少钱|资费|月租|套餐|价格|收费|费用|话费|最低消费|低消|便宜|要钱|免费",
        r"prices?|pricing|costs?|fees?|charges?|charged|tariffs?|monthly|free of charge|"
        r"how much (is|does|do|for|will|money)|call rates?|per minute|"
        r"(data|calling|phone|monthly|price) plans?|plans are available",
    ),
    _topic(
        "call-limits",
        UNCOVERED,
        r"打多少|打几个|打几通|(一天|每天|每日)(最多)?(能|可以)?打|外呼(次数|频率|上限|限制|多少)|"
        r"呼叫(频率|频次|次数|上限)|"
        r"频率|频次|通话时长|拨打(次数|上限|限制)|限制呼出",
        r"calls? (per|a|each) (day|hour)|how many calls|call limits?|limits? on (outbound )?calls|"
        r"outbound calls?|calling limits?|call volume",
    ),
    _topic(
        "real-name-check",
        UNCOVERED,
        r"二次实名|实名认证|实名制|实名|人脸识别|刷脸",
        r"real[- ]name|face (recognition|verification)|re-?verif\w*|verify again",
    ),
    _topic(
        "blocked-number",
        UNCOVERED,
        r"封号|被封|封卡|封了|停机|停用|冻结|标记|拉黑|骚扰|被举报|举报|风控|呼不出|打不出|空号|"
        r"被投诉",
        r"block(ed|ing)?|unblock\w*|suspend\w*|flagged|spam|harass\w*|reported|banned|"
        r"deactivat\w*|cut off|can'?t (make|place) calls",
    ),
    _topic(
        "top-up",
        UNCOVERED,
        r"充值|充话费|缴费|交费|付费|交话费|欠费|余额|账单",
        r"top ?up|recharge|balance|bills?|billing",
    ),
    _topic(
        "delivery",
        UNCOVERED,
        r"寄出|寄送|寄到|邮寄|发货|快递|物流|到货|收到卡|拿到卡|领卡|取卡",
        r"ship(ped|ping)?|deliver(y|ed)?|mail(ed)?|posted|arrive|arrival|pick up the (card|sim)|"
        r"receive (the|my) (card|sim)",
    ),
    _topic(
        "usage",
        UNCOVERED,
        r"流量|长途|漫游|国际|外地|外省|来电显示|显示(什么)?号码|怎么用|无限打",
        r"mobile data|data|roaming|international calls|long-distance|caller id|"
        r"what number shows|outside (my|the) province|unlimited",
    ),
    _topic("sms", UNCOVERED, r"短信|发信息", r"sms|text messages?|send texts?"),
    _topic(
        "transfer",
        UNCOVERED,
        r"过户|转让|转给(别人|他人)|借给|给别人用",
        r"transfer (the |my |this )?(card|sim|number|it|ownership)|someone else use",
    ),
    _topic(
        "close-number",
        UNCOVERED,
        r"注销|销户|停号",
        r"close (my |the )?(telemarketing )?(number|card|account|sim)|"
        r"cancel (the|my) (card|number|sim)|terminat\w*",
    ),
    _topic(
        "number-choice",
        UNCOVERED,
        r"靓号|选号|挑号|号段|尾号",
        r"lucky numbers?|(choose|pick) (a |my |the |my own )?numbers?|vanity numbers?|"
        r"number range",
    ),
    _topic(
        "signal",
        UNCOVERED,
        r"信号|没有服务|通话质量|杂音|断线|掉线",
        r"signal|no service|coverage|call quality|dropped calls?",
    ),
    _topic(
        "how-many-cards",
        UNCOVERED,
        r"办(几|多少)张|几张卡|多少张|数量限制",
        r"how many (cards|sims|numbers)|more than one (card|sim)|multiple (cards|sims)",
    ),
    _topic(
        "contract",
        UNCOVERED,
        r"合同期|合约|协议期|违约金|最短使用",
        r"contracts?|minimum (term|period|spend)|cancellation fee",
    ),
    _topic(
        "carrier",
        UNCOVERED,
        r"(哪些|哪个|什么|哪家)运营商|运营商是|哪个网络?",
        r"(which|what) (carrier|network|operator)s?",
    ),
)

# Asking for a person, in words: request-shaped, so a company name with 客服 in it is not one.
_PERSON_ZH = re.compile(
    r"^(转|找|要)?(人工|真人|活人|客服|人工客服|人工服务|在线客服)[!！。.~～?？]*$|"
    r"(转|找|要|叫|换|联系|接|请|让|来)(个|一个|一下|下|你们)?(的)?(人工|真人|活人|客服|"
    r"工作人员|人工客服|真人客服|在线客服|管理员|负责人)|"
    r"(叫|换|找|来)(个|一个)(人|真人|活人)|我要(找)?(人|活人|真人)(?!脸)|"
    r"(跟|和|同)你(说|讲|聊)不(明白|清楚|通)|说不明白|讲不清|说不通|"
    r"别说了|不想(跟|和)(你|机器人)(说|聊)|机器人(听不懂|解决不了|没用|太笨|不行)|"
    r"你(听不懂|太笨|真笨|没用)|有没有(人|真人|活人|人工|客服)(在|吗|啊|呀|呢|[?？!！。]|$)|"
    r"有人(在)?吗|(我要|我想|怎么|如何|在哪|找谁|去哪)投诉|投诉(你们|电话|渠道|一下)|"
    r"客服(在吗|在不在|呢|人呢|电话)|(工作人员|客服|你们的人|有人)(联系|打电话给|回电)我|"
    r"(打电话|回电话|回电)给我"
)
_PERSON_EN = re.compile(
    r"^(a |an |the )?(human|person|agent|operator|representative|real person|live agent|"
    r"customer service|support|live support|live chat)( please| pls| now)?[.!?]*$|"
    r"\b(talk|speak|chat)\s+(to|with)\s+(a\s+|an\s+|some\s+|the\s+|your\s+)?(real\s+|actual\s+"
    r"|live\s+)?(human|person|people|agent|someone|somebody|staff|representative|operator|"
    r"team|support|customer service)|"
    r"\b(get|want|need|give|find)\s+(me\s+)?(a\s+|an\s+|some\s+)?(real\s+|actual\s+|live\s+)?"
    r"(human|person|agent|representative)\b|"
    r"\b(connect|transfer)\s+me\b|\bput me through\b|\b(real|actual|live)\s+(person|human|"
    r"agent|people)\b|\bhumans?\s+(please|pls)\b|\bis (anyone|anybody|someone) there\b|"
    r"\b(someone|somebody|anyone)\s+(from your (team|staff)|real)\b|\bcontact me\b|"
    r"\bcall me\b|\b(make|file|lodge|have)\s+a\s+complaint\b|\bi want to complain\b|"
    r"\b(you'?re|you are|this is)\s+(useless|not helping|no help)\b|\bnot helping\b|"
    r"\byou (don'?t|do not) understand\b|\b(contact|reach)\s+(customer service|support|"
    r"your (team|staff|support)|the reviewers|a person|someone|a human)\b|\bstaff member\b"
)


def names_our_product(text: str) -> bool:
    """True when the normalised text names the telemarketing card itself."""
    return OUR_PRODUCT.search(text) is not None


def other_subject(text: str) -> Topic | None:
    """The other product, service or institution the normalised text is about, if any."""
    if names_our_product(text):
        return None
    return next((t for t in OTHER_SUBJECTS if t.found(text)), None)


def uncovered_topic(text: str) -> Topic | None:
    """The card topic without an entry that the normalised text asks about, if any."""
    return next((t for t in UNCOVERED_TOPICS if t.found(text)), None)


def asks_for_person(text: str) -> bool:
    """True when the normalised text asks for a person rather than asking a question."""
    return _PERSON_ZH.search(text) is not None or _PERSON_EN.search(text) is not None


def covers(topic: Topic, questions: Iterable[str]) -> bool:
    """True when some entry's (normalised) question variant asks about the topic: an entry
    staff add about refunds makes refund questions answerable, without a deploy."""
    return any(topic.found(question) for question in questions)
