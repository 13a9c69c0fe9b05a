"""Development tools: the demo practice, the load generators and the builders of synthetic data.

Nothing here is imported by the domain apps. The app holds no models and no URLs, only management
commands and `builders` (synthetic patients, courses, doses and answers made through the real
services), so it is harmless in production settings; `demo_practice` refuses to run with DEBUG off.
"""
