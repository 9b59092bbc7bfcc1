"""Synthetic document photos with their ground truth: ID card fronts and backs, passport data
pages with a valid MRZ, business licences with a QR code; under several photo conditions.

Everything is drawn from a seed (no clock, no network): the same seed gives the same bytes.
Fonts: Noto Sans CJK (Debian's fonts-noto-cjk) for Chinese, DejaVu Sans Mono for the MRZ.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
import segno
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont
from stdnum.cn import ric, uscc

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_BOLD_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
MONO_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
# Tests that draw documents need the fonts (Debian: fonts-noto-cjk, fonts-dejavu-core; .ci/run
# installs them); without them they are skipped, saying so.
needs_fonts = pytest.mark.skipif(
    not (CJK_FONT.exists() and MONO_FONT.exists()),
    reason="drawing synthetic documents needs fonts-noto-cjk and fonts-dejavu-core (apt-get)",
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬芳燕彩春菊兰凤"
    "洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎"
    "锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿"
    "聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思"
    "丽"
)
PINYIN_SURNAMES = ["WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU"]
PINYIN_GIVEN = ["WEI", "FANG", "NA", "XIUYING", "MIN", "JING", "LI", "QIANG", "LEI", "JUN"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "苏州"]
BRANDS = ["华信", "长城", "恒达", "金桥", "新联", "远航", "瑞丰", "天成", "博远", "鼎盛", "立信"]
TRADES = ["通信科技", "电子商务", "信息技术", "网络科技", "商贸", "电话营销", "咨询服务"]
SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司"]
# (region code, 签发机关) pairs; python-stdnum knows these codes for every birth year used.
REGIONS = [
    ("110101", "北京市公安局东城分局"),
    ("110102", "北京市公安局西城分局"),
    ("110105", "北京市公安局朝阳分局"),
    ("110108", "北京市公安局海淀分局"),
    ("120101", "天津市公安局和平分局"),
    ("310104", "上海市公安局徐汇分局"),
    ("310105", "上海市公安局长宁分局"),
    ("310110", "上海市公安局杨浦分局"),
]
ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

CONDITIONS = ("clear", "small", "skew", "rot90", "rot180", "dim", "blur", "jpeg_low", "blurry")


@dataclass(frozen=True)
class Truth:
    """What a synthetic document says, for comparing with what was read."""

    kind: str
    name: str = ""
    id_number: str = ""
    authority: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    permanent: bool = False
    passport_number: str = ""
    passport_name: str = ""
    passport_expiry: date | None = None
    company_name: str = ""
    uscc: str = ""


@dataclass(frozen=True)
class Sample:
    """One photo of a document, the condition it was taken in, and its truth."""

    truth: Truth
    condition: str
    image: bytes

    @property
    def label(self) -> str:
        """A short name for reports: kind and condition."""
        return f"{self.truth.kind}/{self.condition}"


@cache
def font(path: Path, size: int, index: int = 2) -> ImageFont.FreeTypeFont:
    """A font at a size; in the CJK collections, index 2 is the Simplified Chinese face."""
    return ImageFont.truetype(str(path), size, index=index if path.suffix == ".ttc" else 0)


def id_number(rng: random.Random, born: date) -> tuple[str, str]:
    """A valid 18-character resident ID number and its issuing authority."""
    region, authority = rng.choice(REGIONS)
    body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0"), authority


def credit_code(rng: random.Random) -> str:
    """A valid unified social credit code (enterprise, with a valid organisation code)."""
    region = rng.choice(REGIONS)[0]
    org = "".join(rng.choice("0123456789") for _ in range(8))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(org, weights, strict=True)) % 11
    org += "X" if check == 10 else "0" if check == 11 else str(check)
    body = f"91{region}{org}"
    return body + uscc.calc_check_digit(body)


def person_name(rng: random.Random) -> str:
    """A two- or three-character Chinese name."""
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def company_name(rng: random.Random) -> str:
    """A registered-looking company name."""
    return rng.choice(CITIES) + rng.choice(BRANDS) + rng.choice(TRADES) + rng.choice(SUFFIXES)


def id_front_truth(rng: random.Random) -> Truth:
    """The truth of a resident ID card (both sides), valid for 10 or 20 years or long term."""
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40))
    number, authority = id_number(rng, born)
    valid_from = date(2012, 1, 1) + timedelta(days=rng.randrange(365 * 12))
    permanent = rng.random() < 0.15
    years = rng.choice((10, 20))
    until = None if permanent else valid_from.replace(year=valid_from.year + years)
    return Truth(
        kind="id_front",
        name=person_name(rng),
        id_number=number,
        authority=authority,
        valid_from=valid_from,
        valid_until=until,
        permanent=permanent,
    )


def passport_truth(rng: random.Random) -> Truth:
    """The truth of a PRC passport data page."""
    number = "E" + "".join(rng.choice("0123456789") for _ in range(8))
    name = f"{rng.choice(PINYIN_SURNAMES)} {rng.choice(PINYIN_GIVEN)}"
    expiry = date(2026, 1, 1) + timedelta(days=rng.randrange(365 * 9))
    return Truth(
        kind="passport", passport_number=number, passport_name=name, passport_expiry=expiry
    )


def licence_truth(rng: random.Random) -> Truth:
    """The truth of a business licence."""
    return Truth(
        kind="business_license",
        company_name=company_name(rng),
        uscc=credit_code(rng),
        name=person_name(rng),
    )


def _canvas(width: int, height: int, colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (width, height), colour)


def draw_id_front(truth: Truth, rng: random.Random) -> Image.Image:
    """The front of a resident ID card (about 1000 × 630 px), as a card on its own."""
    card = _canvas(1000, 630, (226, 236, 240))
    draw = ImageDraw.Draw(card)
    label, value = font(CJK_FONT, 30), font(CJK_FONT, 36)
    grey = (70, 110, 150)
    born = ric.get_birth_date(truth.id_number)
    sex = "男" if int(truth.id_number[16]) % 2 else "女"
    draw.text((60, 60), "姓名", font=label, fill=grey)
    draw.text((170, 55), truth.name, font=value, fill=(0, 0, 0))
    draw.text((60, 130), "性别", font=label, fill=grey)
    draw.text((170, 125), sex, font=value, fill=(0, 0, 0))
    draw.text((300, 130), "民族", font=label, fill=grey)
    draw.text((410, 125), "汉", font=value, fill=(0, 0, 0))
    draw.text((60, 200), "出生", font=label, fill=grey)
    draw.text(
        (170, 195), f"{born.year} 年 {born.month} 月 {born.day} 日", font=value, fill=(0, 0, 0)
    )
    draw.text((60, 270), "住址", font=label, fill=grey)
    street = rng.choice(("人民路", "解放路", "中山路", "建设路"))
    draw.text((170, 265), f"某某区{street}{rng.randrange(1, 300)}号", font=value, fill=(0, 0, 0))
    draw.text((60, 520), "公民身份号码", font=label, fill=grey)
    draw.text((290, 512), truth.id_number, font=font(MONO_FONT, 44), fill=(0, 0, 0))
    draw.rectangle((700, 70, 940, 380), fill=(200, 205, 210))  # the photo
    draw.ellipse((760, 120, 880, 260), fill=(150, 150, 155))
    return card


def draw_id_back(truth: Truth, rng: random.Random) -> Image.Image:
    """The back of a resident ID card: the national emblem side."""
    card = _canvas(1000, 630, (232, 238, 236))
    draw = ImageDraw.Draw(card)
    draw.ellipse((60, 50, 220, 210), fill=(200, 40, 40))
    draw.text((300, 90), "中华人民共和国", font=font(CJK_BOLD_FONT, 56), fill=(0, 0, 0))
    draw.text((330, 190), "居民身份证", font=font(CJK_BOLD_FONT, 70), fill=(0, 0, 0))
    label, value = font(CJK_FONT, 30), font(CJK_FONT, 34)
    draw.text((140, 420), "签发机关", font=label, fill=(60, 60, 60))
    draw.text((320, 415), truth.authority, font=value, fill=(0, 0, 0))
    assert truth.valid_from is not None
    until = "长期" if truth.permanent else f"{truth.valid_until:%Y.%m.%d}"
    draw.text((140, 500), "有效期限", font=label, fill=(60, 60, 60))
    draw.text((320, 495), f"{truth.valid_from:%Y.%m.%d}-{until}", font=value, fill=(0, 0, 0))
    return card


def check_digit(text: str) -> str:
    """ICAO 9303 check digit (weights 7, 3, 1; < is 0, letters 10–35)."""
    total = 0
    for i, c in enumerate(text):
        n = int(c) if c.isdigit() else 0 if c == "<" else ord(c) - 55
        total += n * (7, 3, 1)[i % 3]
    return str(total % 10)


def mrz_lines(truth: Truth, born: date, sex: str) -> tuple[str, str]:
    """The two 44-character lines of a TD3 machine readable zone."""
    surname, given = truth.passport_name.split(" ", 1)
    line1 = f"P<CHN{surname}<<{given.replace(' ', '<')}".ljust(44, "<")[:44]
    number = truth.passport_number.ljust(9, "<")
    assert truth.passport_expiry is not None
    birth, expiry = f"{born:%y%m%d}", f"{truth.passport_expiry:%y%m%d}"
    personal = "<" * 14
    parts = (
        number + check_digit(number),
        "CHN",
        birth + check_digit(birth),
        sex,
        expiry + check_digit(expiry),
        personal + check_digit(personal),
    )
    composite = parts[0] + parts[2] + parts[4] + parts[5]
    line2 = "".join(parts) + check_digit(composite)
    return line1, line2


def draw_passport(truth: Truth, rng: random.Random) -> Image.Image:
    """A passport data page with its printed fields and a valid MRZ."""
    page = _canvas(1250, 880, (240, 234, 222))
    draw = ImageDraw.Draw(page)
    born = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 35))
    sex = rng.choice("MF")
    small, value = font(CJK_FONT, 22), font(CJK_FONT, 32)
    draw.text(
        (60, 40), "中华人民共和国  PEOPLE'S REPUBLIC OF CHINA", font=value, fill=(90, 30, 30)
    )
    draw.text((60, 95), "护照  PASSPORT", font=value, fill=(90, 30, 30))
    draw.rectangle((60, 170, 330, 520), fill=(205, 205, 210))
    fields = (
        ("类型/Type", "P"),
        ("护照号/Passport No.", truth.passport_number),
        ("姓名/Name", truth.passport_name.replace(" ", ", ")),
        ("性别/Sex", sex),
        ("出生日期/Date of birth", f"{born:%d %b %Y}".upper()),
        ("有效期至/Date of expiry", f"{truth.passport_expiry:%d %b %Y}".upper()),
    )
    for row, (caption, text) in enumerate(fields):
        y = 170 + row * 62
        draw.text((380, y), caption, font=small, fill=(90, 90, 90))
        draw.text((380, y + 22), text, font=value, fill=(0, 0, 0))
    line1, line2 = mrz_lines(truth, born, sex)
    mono = font(MONO_FONT, 40)
    draw.rectangle((30, 660, 1220, 860), fill=(246, 242, 232))
    draw.text((45, 680), line1, font=mono, fill=(0, 0, 0))
    draw.text((45, 760), line2, font=mono, fill=(0, 0, 0))
    return page


def draw_licence(truth: Truth, rng: random.Random) -> Image.Image:
    """A business licence with its credit code, name and a QR code that carries the code."""
    page = _canvas(1400, 1000, (250, 246, 236))
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 20, 1380, 980), outline=(170, 60, 40), width=8)
    draw.text((520, 60), "营业执照", font=font(CJK_BOLD_FONT, 84), fill=(170, 30, 30))
    draw.text((80, 210), "统一社会信用代码", font=font(CJK_FONT, 30), fill=(0, 0, 0))
    draw.text((345, 205), truth.uscc, font=font(MONO_FONT, 38), fill=(0, 0, 0))
    label, value = font(CJK_FONT, 32), font(CJK_FONT, 34)
    rows = (
        ("名称", truth.company_name),
        ("类型", "有限责任公司(自然人投资或控股)"),
        ("法定代表人", truth.name),
        ("注册资本", f"{rng.randrange(50, 5000)}万元"),
        (
            "成立日期",
            f"{2000 + rng.randrange(24)}年{rng.randrange(1, 13)}月{rng.randrange(1, 29)}日",
        ),
    )
    for row, (caption, text) in enumerate(rows):
        y = 320 + row * 90
        draw.text((80, y), caption, font=label, fill=(60, 60, 60))
        draw.text((300, y - 2), text, font=value, fill=(0, 0, 0))
    qr = segno.make(f"http://www.gsxt.gov.cn/index.html?uniscid={truth.uscc}", error="m")
    out = io.BytesIO()
    qr.save(out, kind="png", scale=6, border=2)
    page.paste(Image.open(out).convert("RGB"), (1120, 200))
    return page


def licence_pdf(truth: Truth) -> bytes:
    """An electronic business licence: a PDF page whose text is the licence's own, with the
    QR code as an image (no photo to read: the words are in the file)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))  # the same truth, the same bytes
    pdf.add_page()
    pdf.add_font("noto", fname=CJK_FONT, collection_font_number=2)  # Simplified Chinese
    pdf.set_font("noto", size=24)
    pdf.cell(0, 18, "营业执照", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("noto", size=12)
    rows = (
        ("统一社会信用代码", truth.uscc),
        ("名称", truth.company_name),
        ("类型", "有限责任公司(自然人投资或控股)"),
        ("法定代表人", truth.name),
    )
    for caption, text in rows:
        pdf.cell(45, 12, caption)
        pdf.cell(0, 12, text, new_x="LMARGIN", new_y="NEXT")
    qr = segno.make(f"http://www.gsxt.gov.cn/index.html?uniscid={truth.uscc}", error="m")
    out = io.BytesIO()
    qr.save(out, kind="png", scale=6, border=2)
    pdf.image(io.BytesIO(out.getvalue()), x=150, y=30, w=40)
    return bytes(pdf.output())


def scanned_pdf(photo: bytes, black_and_white: bool = False) -> bytes:
    """The photo as a scanner app's one-page PDF: a JPEG, or for a black-and-white scan a
    1-bit image in CCITT G4, as office scanners make them."""
    image = Image.open(io.BytesIO(photo))
    if black_and_white:
        image = image.convert("L").point(lambda grey: 255 if grey > 140 else 0, mode="1")
    out = io.BytesIO()
    image.save(out, "PDF", resolution=200)
    return out.getvalue()


DRAW = {
    "id_front": draw_id_front,
    "id_back": draw_id_back,
    "passport": draw_passport,
    "business_license": draw_licence,
}


def photograph(card: Image.Image, condition: str, rng: random.Random) -> bytes:
    """The document photographed on a desk under `condition`, as JPEG bytes."""
    margin = 80
    desk = _canvas(card.width + 2 * margin, card.height + 2 * margin, (120, 100, 80))
    desk.paste(card, (margin, margin))
    image = desk
    quality = 90
    if condition == "small":
        image = image.resize((image.width * 3 // 5, image.height * 3 // 5), Image.LANCZOS)
    elif condition == "skew":
        angle = rng.choice((-1, 1)) * rng.uniform(3, 7)
        image = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(120, 100, 80))
    elif condition == "rot90":
        image = image.transpose(Image.ROTATE_90)
    elif condition == "rot180":
        image = image.transpose(Image.ROTATE_180)
    elif condition == "dim":
        image = ImageEnhance.Brightness(image).enhance(0.45)
        image = ImageEnhance.Contrast(image).enhance(0.7)
    elif condition == "blur":
        image = image.filter(ImageFilter.GaussianBlur(1.5))
    elif condition == "blurry":  # out of focus: too blurred to read
        image = image.filter(ImageFilter.GaussianBlur(9))
    elif condition == "jpeg_low":
        quality = 25
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def truth_for(kind: str, rng: random.Random) -> Truth:
    """A new document truth of `kind` (an ID back shares its card's truth)."""
    if kind in ("id_front", "id_back"):
        return replace(id_front_truth(rng), kind=kind)
    if kind == "passport":
        return passport_truth(rng)
    return licence_truth(rng)


def sample(
    kind: str, condition: str = "clear", seed: int = 0, truth: Truth | None = None
) -> Sample:
    """One photographed document of `kind` under `condition`, from `seed`."""
    rng = random.Random(f"{kind}/{condition}/{seed}")
    truth = truth or truth_for(kind, rng)
    card = DRAW[truth.kind](truth, rng)
    return Sample(truth, condition, photograph(card, condition, rng))


def id_card(condition: str = "clear", seed: int = 0) -> tuple[Sample, Sample]:
    """Both sides of one resident ID card."""
    truth = id_front_truth(random.Random(f"id/{seed}"))
    return (
        sample("id_front", condition, seed, truth),
        sample("id_back", condition, seed, replace(truth, kind="id_back")),
    )


def synthetic_set(
    per_condition: int = 2, conditions: tuple[str, ...] = CONDITIONS
) -> list[Sample]:
    """Every kind under every condition, `per_condition` documents each."""
    samples = []
    for condition in conditions:
        for seed in range(per_condition):
            front, back = id_card(condition, seed)
            samples += [front, back]
            samples.append(sample("passport", condition, seed))
            samples.append(sample("business_license", condition, seed))
    return samples
