"""The review desk: complete packages to the review group, reviewers' taps, decisions back.

Every button on a review card carries only the application id and an operation; what the
operation may do is decided here, from the database, for the person who pressed it: their
role, who has claimed the application, its status and the decision being prepared.

- `team` — the team's settings and shared facts (working days, audit trail, reasons);
- `cards`, `dossier`, `flags` — what the group's card and a reviewer's private package show;
- `desk` — the entry: one transaction per group event, routed by `desk.route` to
  `commands` (/queue, /mine, /show, /assign), `taps` (card buttons and claims),
  `decisions` (a decision prepared and made) or `notes` (typed comments and notes), all
  working on one `action.GroupAction`;
- `claims`, `reminders` — claims released, reminders sent;
- `submissions` — the applicant's side: a package submitted, withdrawn or erased.
"""
