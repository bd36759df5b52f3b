"""Search and samplers that find programs from examples, and checks for samplers."""

from ._simulator import Budget, BudgetExhausted, Simulator, SolveResult, verify

__all__ = ["Budget", "BudgetExhausted", "Simulator", "SolveResult", "verify"]
