"""The demo practice that `manage.py demo_practice` loads: a synthetic clinic built through the
services (clinic.py: the staff, the logins and the plan; story.py: the story of one course;
practice.py: thirty-one courses in every stage; measures.py: the questionnaires answered)."""
