"""The launch report: one ART day's operations, business, market, health, alerts and Day-7
recommendations, as JSON (:mod:`~barberpro.report.build`), HTML and PDF
(:mod:`~barberpro.report.render`)."""
