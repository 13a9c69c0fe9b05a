"""The practice report turned into plain data once, in the shape PracticeReportSerializer describes."""

from measures.instruments import INSTRUMENTS
from reports.aggregate import suppressed
from reports.api.serializers.filters import filters_out
from reports.api.serializers.practice_report import CourseFlowSerializer
from reports.outcomes import FOLLOW_UP_LABELS


def _rate(rate, threshold: int) -> dict | None:
    if rate is None:
        return None
    return {
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "pct": rate.pct,
        "ci_low": rate.low,
        "ci_high": rate.high,
        "suppressed": suppressed(rate, threshold),
    }


def _mean(mean) -> dict:
    return {"n": mean.n, "mean": mean.mean, "sd": mean.sd, "ci_low": mean.low, "ci_high": mean.high}


def _durability(d, threshold: int) -> dict:
    return {k: _rate(getattr(d, k), threshold) for k in ("all_itt", "all_oc", "responders_itt", "responders_oc")}


def _summary(summary, threshold: int, waived: int) -> dict:
    return {
        "instrument": summary.instrument,
        "loinc": INSTRUMENTS[summary.instrument].loinc_codes,
        "n_with_baseline": summary.n_with_baseline,
        "n_baseline_waived": waived,
        "n_eligible": summary.n_eligible,
        "baseline": _mean(summary.baseline),
        "end": _mean(summary.end),
        "means": {k: _mean(v) for k, v in summary.means.items()},
        **{
            k: _rate(getattr(summary, k), threshold)
            for k in ("response_itt", "response_oc", "partial_oc", "partial_itt", "remission_itt", "remission_oc")
        },
        "meaningful_change_oc": _rate(summary.meaningful_change_oc, threshold),
        "meaningful_change_itt": _rate(summary.meaningful_change_itt, threshold),
        "completion": {k: _rate(v, threshold) for k, v in summary.completion.items()},
        "durability": {k: _durability(v, threshold) for k, v in summary.durability.items()},
        "durability_by_maintenance": {
            k: {
                "with_maintenance": _durability(v["with"], threshold),
                "without_maintenance": _durability(v["without"], threshold),
            }
            for k, v in summary.durability_by_maintenance.items()
        },
        "still_responding": {k: _rate(v, threshold) for k, v in summary.still_responding.items()},
        "still_responding_itt": {k: _rate(v, threshold) for k, v in summary.still_responding_itt.items()},
        "km": [step.__dict__ for step in summary.km],
    }


def _course_flow(flow) -> dict:
    data = {name: getattr(flow, name) for name in CourseFlowSerializer().fields if name != "stalled_courses"}
    data["stalled_courses"] = [
        {
            "key": c.key,
            "last_dose": c.last_dose,
            "days_without_dose": c.days_without_dose,
            "doses_given": c.doses_given,
            "planned": c.planned,
        }
        for c in flow.stalled_courses
    ]
    return data


def practice_report_data(report) -> dict:
    """The practice report as plain data, in the shape PracticeReportSerializer describes."""
    threshold = report.suppression_threshold
    defs = report.definitions
    safety = report.safety
    return {
        "clinic": report.clinic,
        "generated_at": report.generated_at,
        "as_of": report.as_of,
        "filters": filters_out(report.filters),
        "filter_labels": [{"name": name, "value": value} for name, value in report.filter_labels],
        "definitions": {
            "baseline_days": defs.baseline_days,
            "end_first_day": defs.end_first_day,
            "end_last_day": defs.end_last_day,
            "follow_ups": [
                {"name": name, "label": FOLLOW_UP_LABELS[name], "day": day, "tolerance": tolerance}
                for name, day, tolerance in defs.follow_ups
            ],
            "response_reduction_pct": defs.response_reduction_pct,
            "partial_reduction_pct": defs.partial_reduction_pct,
            "pcl5_meaningful_drop": defs.pcl5_meaningful_drop,
            "remission_below": dict(defs.remission_below),
            "eligible_from": dict(defs.eligible_from),
            "suppression_threshold": threshold,
        },
        "n_courses": report.n_courses,
        "n_patients_dosed": report.n_patients_dosed,
        "course_flow": _course_flow(report.course_flow),
        "instruments": {
            k: _summary(v, threshold, report.waived_baselines.get(k, 0)) for k, v in report.summaries.items()
        },
        "equity": [
            {
                "instrument": instrument,
                "dimension": row.dimension,
                "group": row.group,
                "label": row.label,
                "n_courses": row.n_courses,
                "n_eligible": row.n_eligible,
                "response": _rate(row.response, threshold),
                "remission": _rate(row.remission, threshold),
                "sustained_6": _rate(row.sustained_6, threshold),
                "sustained_6_oc": _rate(row.sustained_6_oc, threshold),
            }
            for instrument, rows in report.equity.items()
            for row in rows
        ],
        "safety": {
            "dosing_sessions": safety["dosing_sessions"],
            "events_total": safety["events_total"],
            "events_per_100": safety["events_per_100"],
            "by_term": [{"name": t, "count": n, "per_100": p} for t, n, p in safety["by_term"]],
            "by_grade": [{"name": str(g), "count": n, "per_100": p} for g, n, p in safety["by_grade"]],
            "serious": safety["serious"],
            "events_outside_sessions": safety["events_outside_sessions"],
            "holds": safety["holds"],
            "overrides": safety["overrides"],
            "overridden_doses": safety["overridden_doses"],
            "discharge_exceptions": safety["discharge_exceptions"],
            "left_before_discharge": safety["left_before_discharge"],
            "in_session_alerts": safety["in_session_alerts"],
            "alerts": safety["alerts"],
        },
        "literature": [
            {
                "study": s.study,
                "year": s.year,
                "journal": s.journal,
                "doi": s.doi,
                "n": s.n,
                "protocol": s.protocol,
                "result": s.result,
                "source": s.source,
            }
            for s in report.literature
        ],
    }
