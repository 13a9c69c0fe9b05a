"""The medical evaluation (the contraindication screen) and the psychiatric evaluation."""

from courses import kinds
from courses.api.serializers._common import RECORD_META, SIGNED_META, ModelInput, SignedOut
from courses.models import MedicalEvaluation, PsychiatricEvaluation


class MedicalEvaluationInputSerializer(ModelInput):
    class Meta:
        model = MedicalEvaluation
        fields = list(kinds.MEDICAL_EVALUATION_FIELDS)


class MedicalEvaluationSerializer(SignedOut):
    class Meta:
        model = MedicalEvaluation
        fields = [
            "id",
            "course",
            *kinds.MEDICAL_EVALUATION_FIELDS,
            "superseded_at",
            "superseded_by",
            *SIGNED_META,
            *RECORD_META,
            "amendments",
        ]


PSYCHIATRIC_FIELDS = list(kinds.PSYCHIATRIC_EVALUATION_FIELDS)


class PsychiatricEvaluationInputSerializer(ModelInput):
    class Meta:
        model = PsychiatricEvaluation
        fields = PSYCHIATRIC_FIELDS
        extra_kwargs = {"indication": {"required": False, "help_text": "Defaults to the course's indication."}}


class PsychiatricEvaluationSerializer(SignedOut):
    class Meta:
        model = PsychiatricEvaluation
        fields = ["id", "course", *PSYCHIATRIC_FIELDS, *SIGNED_META, *RECORD_META, "amendments"]
