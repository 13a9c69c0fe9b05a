"""The published figures the outcome report prints beside the practice's own (DOMAIN §6), each
with where it was read. Data, not arithmetic: reports/report.py puts it on the report."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Study:
    """A published figure and where it comes from (DOMAIN §6's table and its note on sources).
    `doi` is printed only where DOMAIN gives one; nothing here is filled in from memory."""

    author: str
    year: int | None
    journal: str
    doi: str
    n: str
    protocol: str
    result: str
    source: str  # where the figure was read: the published abstract, or the seed articles' summary

    @property
    def study(self) -> str:
        return f"{self.author} {self.year}" if self.year else self.author


ABSTRACT = "published abstract"
SEED = "seed articles ('Research on KAP' summary page)"

# DOMAIN §6 reference figures, printed beside the practice's own with the caveat that
# definitions differ between studies and from this report's.
LITERATURE = (
    Study(
        "Feder",
        2025,
        "J Clin Psychiatry 86(2)",
        "",
        "14 (13 completed), PTSD",
        "6 IV infusions 0.5 mg/kg + written exposure therapy",
        "9/13 (69%) responders (≥ 30% CAPS-5 drop), 8/13 (61.5%) durable to 6 months",
        SEED,
    ),
    Study(
        "McInnes (ORKA-1)",
        2022,
        "J Affect Disord",
        "",
        "537, 178 clinics",
        "4–8 IV infusions",
        "53.6% response, 28.9% remission at 14–31 days",
        ABSTRACT,
    ),
    Study(
        "Hull",
        2022,
        "J Affect Disord",
        "",
        "1,247, at home",
        "sublingual 300–450 mg",
        "PHQ-9 response 62.8%, remission 32.6%; GAD-7 62.9% / 31.3%",
        ABSTRACT,
    ),
    Study(
        "Yermus",
        2023,
        "Psychedelic Medicine",
        "10.1089/psymed.2023.0021",
        "1,806, 11 clinics",
        "4–6 IM/sublingual + therapy (mean 4 doses)",
        "Cohen's d 0.75–0.86 at 3 months, 0.61–0.73 at 6 months; evaluable 346 and 94 (loss to follow-up 82% and 95%)",
        SEED + "; effect sizes: " + ABSTRACT,
    ),
    Study(
        "Dore",
        2019,
        "J Psychoactive Drugs 51(2):189–198",
        "10.1080/02791072.2019.1587556",
        "235, 3 practices",
        "IM/sublingual KAP",
        "BDI −11.24 points, HAM-A −5.5 points (intake to follow-up)",
        SEED + "; changes: " + ABSTRACT,
    ),
    Study(
        "Johnson",
        2025,
        "Eur Neuropsychopharmacol 91",
        "",
        "> 600, routine care",
        "ketamine ± psychotherapy",
        "no added benefit of psychotherapy at 30 or 180 days",
        SEED,
    ),
    Study(
        "Chen-MacLean & Garcia-Romeu",
        None,
        "(as cited in the seed articles)",
        "",
        "—",
        "ketamine without maintenance",
        "fewer than 25% kept their response 3 months after treatment without maintenance",
        SEED,
    ),
)
