"""Studies: a study file (spec.py), balanced assignment with Latin-square orders and matched seeds
(assignment.py), the participant's place from consent to completion code (service.py), the HTTP entry
`/s/<study-id>` and its JSON API (routes.py), and the `instructplay study` commands (commands/).
docs/STUDIES.md is the researcher's guide; docs/studies/example.yaml a complete study."""
