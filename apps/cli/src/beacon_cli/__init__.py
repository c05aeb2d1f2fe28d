"""`beacon`: a terminal client of the research API (/api/v1) over HTTP."""
