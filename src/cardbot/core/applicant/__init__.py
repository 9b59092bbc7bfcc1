"""The applicant's own flow: consent, answers and choices (`answers`), files (`uploads`),
moving about (`navigation`), submitting, status and cancelling (`submission`), and a
reviewer's decision reaching them, with applying again (`outcome`)."""
