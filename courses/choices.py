"""Coded values of the course record (DOMAIN.md §1–4)."""

from django.db import models


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    UNKNOWN = "unknown", "Unknown / not recorded"


class RaceEthnicity(models.TextChoices):
    # Self-reported, one answer; "prefer not to say" is an answer, blank means not asked.
    AMERICAN_INDIAN_ALASKA_NATIVE = "aian", "American Indian or Alaska Native"
    ASIAN = "asian", "Asian"
    BLACK = "black", "Black or African American"
    HISPANIC_LATINO = "hispanic", "Hispanic or Latino"
    MIDDLE_EASTERN_NORTH_AFRICAN = "mena", "Middle Eastern or North African"
    NATIVE_HAWAIIAN_PACIFIC_ISLANDER = "nhpi", "Native Hawaiian or Pacific Islander"
    WHITE = "white", "White"
    MULTIRACIAL = "multiracial", "More than one race/ethnicity"
    OTHER = "other", "Another race/ethnicity"
    PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class Indication(models.TextChoices):
    MDD_TRD = "mdd_trd", "Major depression / treatment-resistant depression"
    PTSD = "ptsd", "PTSD"
    OCD = "ocd", "OCD"
    SUD = "sud", "Substance use disorder"
    EATING_DISORDER = "eating_disorder", "Eating disorder"
    ANXIETY = "anxiety", "Anxiety disorder"
    CHRONIC_PAIN_DEPRESSION = "chronic_pain_depression", "Chronic pain with depression"
    EXISTENTIAL_DISTRESS = "existential_distress", "Existential distress"
    OTHER = "other", "Other"


class SessionFormat(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    GROUP = "group", "Group"


class CourseStatus(models.TextChoices):
    EVALUATION = "evaluation", "Evaluation"
    PREPARATION = "preparation", "Preparation"
    DOSING = "dosing", "Dosing"
    INTEGRATION = "integration", "Integration"
    FOLLOW_UP = "follow_up", "Follow-up"
    COMPLETED = "completed", "Completed"
    DISCONTINUED = "discontinued", "Discontinued"


# The forward path of a course; "discontinued" can be reached from any stage before the end.
COURSE_STAGES = [
    CourseStatus.EVALUATION,
    CourseStatus.PREPARATION,
    CourseStatus.DOSING,
    CourseStatus.INTEGRATION,
    CourseStatus.FOLLOW_UP,
    CourseStatus.COMPLETED,
]
CLOSED_STATUSES = {CourseStatus.COMPLETED, CourseStatus.DISCONTINUED}
# Where a course stands against its induction series (DOMAIN §6): still in it (it can stall), or
# past dosing (its series is over whatever its dose count). One definition for the schedule's
# course_end and the SQL of courses.selectors.stalled_courses.
STILL_IN_SERIES = (CourseStatus.EVALUATION, CourseStatus.PREPARATION, CourseStatus.DOSING)
PAST_DOSING = (CourseStatus.INTEGRATION, CourseStatus.FOLLOW_UP, CourseStatus.COMPLETED)


class ScreenDecision(models.TextChoices):
    PENDING = "pending", "Not yet decided"
    CLEARED = "cleared", "Cleared"
    CLEARED_WITH_CAUTIONS = "cleared_with_cautions", "Cleared with cautions"
    NOT_CLEARED = "not_cleared", "Not cleared"


CLEARED_DECISIONS = {ScreenDecision.CLEARED, ScreenDecision.CLEARED_WITH_CAUTIONS}


class SuicideRisk(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class Drug(models.TextChoices):
    RACEMIC_KETAMINE = "ketamine", "Racemic ketamine"
    ESKETAMINE = "esketamine", "Esketamine"


class Route(models.TextChoices):
    IV = "iv", "Intravenous"
    IM = "im", "Intramuscular"
    SUBLINGUAL = "sublingual", "Sublingual / oral"
    INTRANASAL = "intranasal", "Intranasal"


class PregnancyTest(models.TextChoices):
    # Blank means not recorded: whether a test is needed comes from the screen's answer on
    # childbearing potential, never from a default.
    NOT_APPLICABLE = "not_applicable", "Not applicable (no childbearing potential)"
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"


class ScreenAnswer(models.TextChoices):
    """A screen item answered on purpose. Blank means not answered yet; "unknown" is an answer
    that cannot be cleared."""

    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class VitalPhase(models.TextChoices):
    PRE_DOSE = "pre_dose", "Pre-dose"
    DURING = "during", "During session"
    PRE_DISCHARGE = "pre_discharge", "Before discharge"


class VitalAlert(models.TextChoices):
    PRE_DOSE_HOLD = "pre_dose_hold", "Pre-dose hold"
    HIGH_BP = "high_bp", "Blood pressure above alert threshold"
    HIGH_HR = "high_hr", "Heart rate above alert threshold"
    LOW_SPO2 = "low_spo2", "SpO2 below alert threshold"
    LOW_RR = "low_rr", "Respiratory rate below alert threshold"


class InSessionAlertAction(models.TextChoices):
    """What the medical provider did about an alerting reading (closes the in-session alert)."""

    RECHECK = "recheck", "Rechecked: a new reading was taken"
    ADVERSE_EVENT = "adverse_event", "Recorded as an adverse event"
    OTHER = "other", "Other (described in the note)"
    # Set by the system, not chosen: the reading itself was voided or corrected below the alert.
    READING_VOIDED = "reading_voided", "The reading was voided as entered in error"
    READING_CORRECTED = "reading_corrected", "The reading was corrected and no longer alerts"


IN_SESSION_ALERT_CHOICES = [
    (InSessionAlertAction.RECHECK.value, InSessionAlertAction.RECHECK.label),
    (InSessionAlertAction.ADVERSE_EVENT.value, InSessionAlertAction.ADVERSE_EVENT.label),
    (InSessionAlertAction.OTHER.value, InSessionAlertAction.OTHER.label),
]


class AdverseEventTerm(models.TextChoices):
    DISSOCIATION = "dissociation", "Dissociation"
    DIZZINESS = "dizziness", "Dizziness"
    NAUSEA = "nausea", "Nausea"
    VOMITING = "vomiting", "Vomiting"
    SEDATION = "sedation", "Sedation"
    HEADACHE = "headache", "Headache"
    ANXIETY_PANIC = "anxiety_panic", "Anxiety / panic"
    ELEVATED_BP = "elevated_bp", "Elevated blood pressure"
    ELEVATED_HR = "elevated_hr", "Elevated heart rate"
    VERTIGO = "vertigo", "Vertigo"
    HYPOESTHESIA = "hypoesthesia", "Hypoesthesia"
    FEELING_DRUNK = "feeling_drunk", "Feeling drunk"
    LOSS_OF_CONSCIOUSNESS = "loss_of_consciousness", "Loss of consciousness"
    RESPIRATORY_DEPRESSION = "respiratory_depression", "Respiratory depression"
    HYPERTENSIVE_CRISIS = "hypertensive_crisis", "Hypertensive crisis"
    EMERGENT_SUICIDALITY = "emergent_suicidality", "Emergent suicidality"
    OTHER = "other", "Other"


class AdverseEventGrade(models.IntegerChoices):
    # CTCAE-style severity; seriousness is recorded separately (21 CFR 312.32).
    MILD = 1, "1 – Mild"
    MODERATE = 2, "2 – Moderate"
    SEVERE = 3, "3 – Severe"
    LIFE_THREATENING = 4, "4 – Life-threatening"
    DEATH = 5, "5 – Death"


class SeriousCriterion(models.TextChoices):
    DEATH = "death", "Death"
    LIFE_THREATENING = "life_threatening", "Life-threatening"
    HOSPITALISATION = "hospitalisation", "Hospitalisation or its prolongation"
    DISABILITY = "disability", "Persistent or significant disability"
    CONGENITAL_ANOMALY = "congenital_anomaly", "Congenital anomaly"
    OTHER_IMPORTANT = "other_important", "Other important medical event"


class Expectedness(models.TextChoices):
    # Against the product label's list of adverse reactions (21 CFR 312.32(a)).
    EXPECTED = "expected", "Expected (listed in the label)"
    UNEXPECTED = "unexpected", "Unexpected"


class Relatedness(models.TextChoices):
    UNRELATED = "unrelated", "Unrelated"
    UNLIKELY = "unlikely", "Unlikely"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"
    DEFINITE = "definite", "Definite"


class AdverseEventAction(models.TextChoices):
    NONE = "none", "None"
    DOSE_PAUSED = "dose_paused", "Dose paused"
    SESSION_STOPPED = "session_stopped", "Session stopped"
    MEDICATION_GIVEN = "medication_given", "Medication given"
    TRANSFERRED = "transferred", "Transferred"


class AdverseEventOutcome(models.TextChoices):
    ONGOING = "ongoing", "Ongoing"
    RESOLVED = "resolved", "Resolved"
    RESOLVED_WITH_SEQUELAE = "resolved_with_sequelae", "Resolved with sequelae"
    FATAL = "fatal", "Fatal"
    UNKNOWN = "unknown", "Unknown"


class PreparationTopic(models.TextChoices):
    EFFECTS_AND_RISKS = "effects_risks", "Effects and risks of ketamine"
    SET_AND_SETTING = "set_setting", "Set and setting"
    INTENTIONS = "intentions", "Intentions"
    CHALLENGING_MOMENTS = "challenging_moments", "What to do in challenging moments"
    LOGISTICS = "logistics", "Fasting, escort home, no driving"
    CONSENT_TOUCH = "consent_touch", "Consent and touch"


class IntegrationTechnique(models.TextChoices):
    TALK = "talk", "Talk therapy"
    JOURNALING = "journaling", "Journaling"
    DRAWING = "drawing", "Drawing / art"
    MINDFULNESS = "mindfulness", "Mindfulness / breathwork"
    SOMATIC = "somatic", "Somatic work"
    MUSIC = "music", "Music"
    PSYCHOEDUCATION = "psychoeducation", "Psychoeducation"
