"""Programs as data: instances, file formats, standard form. Imports no solver and no torch."""

from formulations.assignment import FEAS_TOL, Evaluation, evaluate
from formulations.errors import InstanceError, TreatallocError, UsageError
from formulations.instance import (
    Budget,
    Capacity,
    Columns,
    DenseView,
    Instance,
    Reference,
    Scenario,
    from_dense,
)
from formulations.instance_file import instance_table, load_instance, write_instance
from formulations.standard_form import StandardForm, compile_standard_form

__all__ = [
    "FEAS_TOL",
    "Budget",
    "Capacity",
    "Columns",
    "DenseView",
    "Evaluation",
    "Instance",
    "InstanceError",
    "Reference",
    "Scenario",
    "StandardForm",
    "TreatallocError",
    "UsageError",
    "compile_standard_form",
    "evaluate",
    "from_dense",
    "instance_table",
    "load_instance",
    "write_instance",
]
