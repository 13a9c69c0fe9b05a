"""Per-patient charts: each instrument's scores over time, severity bands shaded, doses marked."""

from django.shortcuts import render

from courses.selectors import course_get
from kernel.web.views import staff_view
from measures.charts import chart_geometry, date_domain
from measures.selectors import chart_series


@staff_view
def course_charts(request, course_id):
    course = course_get(user=request.user, course_id=course_id)
    series, doses = chart_series(course)
    # One time axis for every instrument, so the charts line up under each other.
    days = [p.day for s in series for p in s.points] + [d.day for d in doses]
    domain = date_domain(days) if days else None
    charts = [
        {
            "series": s,
            "chart": chart_geometry(points=s.points, doses=doses, y_max=s.y_max, bands=s.bands, domain=domain),
        }
        for s in series
    ]
    context = {
        "course": course,
        "patient": course.patient,
        "charts": charts,
        "induction_doses": sum(1 for d in doses if not d.maintenance),
        "maintenance_doses": sum(1 for d in doses if d.maintenance),
    }
    return render(request, "measures/charts.html", context)
