"""Search and samplers that find programs from examples, and checks for samplers."""

__all__: list[str] = []
