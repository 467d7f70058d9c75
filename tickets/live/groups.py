"""Channel layer group names: one group per function, shared by every page of it."""


def function_group(function_id: int) -> str:
    return f"function.{function_id}"
