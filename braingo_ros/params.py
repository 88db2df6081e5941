"""Parameter declaration for the BrainGo nodes: one table per node (default, unit/description, read-only).

rclpy infers the type of an empty list as a byte array, so a string-array parameter with an empty
default is declared by type only and reads as ``[]`` while unset; clients clearing such a parameter
must send a typed empty string array (:func:`overrides` does).
"""
from rcl_interfaces.msg import ParameterDescriptor, ParameterType, SetParametersResult
from rclpy.exceptions import ParameterUninitializedException
from rclpy.parameter import Parameter


class Spec:
    """One parameter: ``default`` value (its type is the parameter's; a list is a list of strings),
    ``description`` with the unit, ``read_only`` when it is only read at start-up."""

    def __init__(self, default, description, read_only=False):
        self.default, self.description, self.read_only = default, description, read_only
        self.string_array = isinstance(default, list)


def declare(node, specs):
    """Declare every parameter of ``specs`` (dict name -> :class:`Spec`) on ``node``."""
    for name, spec in specs.items():
        if spec.string_array:
            descriptor = ParameterDescriptor(description=spec.description, read_only=spec.read_only,
                                             type=ParameterType.PARAMETER_STRING_ARRAY)
            node.declare_parameter(name, spec.default or Parameter.Type.STRING_ARRAY, descriptor)
        else:
            descriptor = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
            node.declare_parameter(name, spec.default, descriptor)


def value(param, spec):
    """Python value of ``param`` checked against ``spec``'s type; raises ValueError with the reason."""
    if spec.string_array:
        if param.type_ != Parameter.Type.STRING_ARRAY:
            raise ValueError(f"{param.name}: expected a list of strings, got {param.type_.name}")
        return list(param.value)
    return param.value


def values(node, specs):
    """Current values of all ``specs`` as a dict (an unset string array is its default)."""
    out = {}
    for name, spec in specs.items():
        try:
            out[name] = value(node.get_parameter(name), spec)
        except ParameterUninitializedException:
            out[name] = list(spec.default)
    return out


def result(error=None):
    """``SetParametersResult`` accepting (no error) or rejecting with ``str(error)`` as the reason."""
    return SetParametersResult(successful=error is None, reason="" if error is None else str(error))


def check_each(changed, checks):
    """Result of running ``checks[name](value)`` on each changed parameter that has a check: the first
    ValueError's text is the rejection reason."""
    for param in changed:
        check = checks.get(param.name)
        if check is not None:
            try:
                check(param.value)
            except ValueError as exc:
                return result(exc)
    return result()


def overrides(params):
    """``parameter_overrides`` for an in-process node from a plain dict (lists of str typed explicitly)."""
    out = []
    for name, v in params.items():
        if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
            out.append(Parameter(name, Parameter.Type.STRING_ARRAY, list(v)))
        else:
            out.append(Parameter(name, value=v))
    return out
