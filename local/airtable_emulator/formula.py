"""``filterByFormula`` (and view filters): a tokenizer, a recursive-descent parser and an evaluator.

Only a subset of Airtable's formula language is understood (see ``FUNCTIONS``). Anything else is a
:class:`FormulaError`, which the API turns into 422 ``INVALID_FILTER_BY_FORMULA``: an unsupported
formula must never silently match every record.

Values while evaluating: ``None`` (blank), ``bool``, ``int``/``float``, ``str``. Booleans count as 1/0
in comparisons and arithmetic, as in Airtable. A runtime problem (division by zero, a non-numeric string
in arithmetic) is Airtable's ``#ERROR!``, which drops the record.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Field id -> the cell as a formula sees it (see ``listing.formula_value``).
CellLookup = Callable[[str], Any]
Evaluator = Callable[["RecordScope"], Any]


class FormulaError(Exception):
    """The formula cannot be used; ``str(error)`` is the message Airtable would show."""


class _EvaluationError(Exception):
    """Airtable's ``#ERROR!`` while evaluating one record."""


@dataclass(frozen=True)
class RecordScope:
    record_id: str
    cell: CellLookup


# --- tokens ------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<field>\{(?:[^}\\]|\\.)*\})
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|<>|[=<>&+\-*/(),])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | field | ident | op | end
    text: str
    position: int


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(1)), body, flags=re.DOTALL)


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise FormulaError(f"Invalid formula: unexpected character {text[position]!r} at {position}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class Call:
    name: str  # upper case
    args: tuple["Node", ...]


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Negate:
    operand: "Node"


Node = Literal | FieldRef | Call | Binary | Negate

_COMPARISONS = {"=", "!=", "<>", "<", ">", "<=", ">="}
# Parentheses, calls and signs recurse in the parser (about seven frames a level); operator chains
# only deepen the tree, which compiling and evaluating walk recursively (a frame or two a level).
MAX_NESTING = 60
MAX_TREE_DEPTH = 200


class _Parser:
    """comparison := concat (cmp concat)* ; concat := additive ('&' additive)* ;
    additive := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)* ; unary := '-' unary | primary."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise FormulaError("Invalid formula: the formula is nested too deeply")

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise FormulaError("Invalid formula: the formula is empty")
        node = self.comparison()
        if self.peek().kind != "end":
            token = self.peek()
            raise FormulaError(f"Invalid formula: unexpected {token.text!r} at {token.position}")
        return node

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != text:
            shown = token.text or "end of formula"
            raise FormulaError(f"Invalid formula: expected {text!r} but found {shown!r} at {token.position}")

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in ops

    def comparison(self) -> Node:
        node = self.concat()
        while self.at_op(*_COMPARISONS):
            op = self.take().text
            node = Binary("!=" if op == "<>" else op, node, self.concat())
        return node

    def concat(self) -> Node:
        node = self.additive()
        while self.at_op("&"):
            self.take()
            node = Binary("&", node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.term()
        while self.at_op("+", "-"):
            op = self.take().text
            node = Binary(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at_op("*", "/"):
            op = self.take().text
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        self.nest()
        if self.at_op("-"):
            self.take()
            node: Node = Negate(self.unary())
        elif self.at_op("+"):
            self.take()
            node = self.unary()
        else:
            node = self.primary()
        self.depth -= 1
        return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            number = float(token.text)
            return Literal(int(number) if number.is_integer() and "." not in token.text else number)
        if token.kind == "string":
            return Literal(_unescape(token.text[1:-1]))
        if token.kind == "field":
            return FieldRef(_unescape(token.text[1:-1]))
        if token.kind == "ident":
            if self.at_op("("):
                return self.call(token.text.upper())
            return FieldRef(token.text)
        if token.kind == "op" and token.text == "(":
            node = self.comparison()
            self.expect(")")
            return node
        shown = token.text or "end of formula"
        raise FormulaError(f"Invalid formula: unexpected {shown!r} at {token.position}")

    def call(self, name: str) -> Node:
        self.expect("(")
        args: list[Node] = []
        if not self.at_op(")"):
            args.append(self.comparison())
            while self.at_op(","):
                self.take()
                args.append(self.comparison())
        self.expect(")")
        return Call(name, tuple(args))


def parse(text: str) -> Node:
    tree = _Parser(text).parse()
    # Long operator chains nest to the left without recursing in the parser; bound them too.
    pending: list[tuple[Node, int]] = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_TREE_DEPTH:
            raise FormulaError("Invalid formula: the formula is nested too deeply")
        if isinstance(node, Binary):
            pending.extend([(node.left, depth + 1), (node.right, depth + 1)])
        elif isinstance(node, Negate):
            pending.append((node.operand, depth + 1))
        elif isinstance(node, Call):
            pending.extend((arg, depth + 1) for arg in node.args)
    return tree


# --- value rules -------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """Airtable keeps a record unless the result is 0, false, "", NaN, [], blank or an error."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str | list):
        return len(value) > 0
    return True


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(to_text(item) for item in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("email") or value.get("filename") or value.get("id") or "")
    return str(value)


def to_number(value: Any) -> int | float:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        try:
            return float(text)
        except ValueError:
            raise _EvaluationError(f"{value!r} is not a number") from None
    raise _EvaluationError(f"{value!r} is not a number")


def _as_comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return to_text(value)
    return value


def _parse_number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _as_comparable(left), _as_comparable(right)
    # A blank cell compares like the empty value of the other side's type (BLANK() = 0, BLANK() = "").
    if left is None and right is None:
        left = right = 0
    elif left is None:
        left = "" if isinstance(right, str) else 0
    elif right is None:
        right = "" if isinstance(left, str) else 0
    if isinstance(left, str) != isinstance(right, str):
        text, _number = (left, right) if isinstance(left, str) else (right, left)
        parsed = _parse_number(text)
        if parsed is None:
            left, right = to_text(left), to_text(right)
        elif isinstance(left, str):
            left = parsed
        else:
            right = parsed
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def _arithmetic(op: str, left: Any, right: Any) -> int | float:
    a, b = to_number(left), to_number(right)
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    else:
        if b == 0:
            raise _EvaluationError("division by zero")
        result = a / b
    if isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
        return int(result)
    return result


def _find(needle: Any, haystack: Any, start: Any = 1, *, fold: bool) -> int | None:
    text, sought = to_text(haystack), to_text(needle)
    if fold:
        text, sought = text.lower(), sought.lower()
    begin = max(int(to_number(start)) - 1, 0)
    position = text.find(sought, begin)
    if position < 0:
        return None if fold else 0
    return position + 1


def _if(scope: RecordScope, args: tuple[Evaluator, ...]) -> Any:
    if truthy(args[0](scope)):
        return args[1](scope)
    return args[2](scope) if len(args) > 2 else None


def _and(scope: RecordScope, args: tuple[Evaluator, ...]) -> Any:
    return all(truthy(arg(scope)) for arg in args)


def _or(scope: RecordScope, args: tuple[Evaluator, ...]) -> Any:
    return any(truthy(arg(scope)) for arg in args)


def _plain(function: Callable[..., Any]) -> Callable[[RecordScope, tuple[Evaluator, ...]], Any]:
    """A function whose arguments are all evaluated first."""

    def run(scope: RecordScope, args: tuple[Evaluator, ...]) -> Any:
        return function(*(arg(scope) for arg in args))

    return run


@dataclass(frozen=True)
class _Function:
    min_args: int
    max_args: int | None
    run: Callable[[RecordScope, tuple[Evaluator, ...]], Any]


FUNCTIONS: dict[str, _Function] = {
    "AND": _Function(1, None, _and),
    "OR": _Function(1, None, _or),
    "NOT": _Function(1, 1, _plain(lambda value: not truthy(value))),
    "IF": _Function(2, 3, _if),
    "TRUE": _Function(0, 0, _plain(lambda: True)),
    "FALSE": _Function(0, 0, _plain(lambda: False)),
    "BLANK": _Function(0, 0, _plain(lambda: None)),
    "RECORD_ID": _Function(0, 0, lambda scope, _args: scope.record_id),
    "FIND": _Function(2, 3, _plain(lambda *args: _find(*args, fold=False))),
    "SEARCH": _Function(2, 3, _plain(lambda *args: _find(*args, fold=True))),
    "LOWER": _Function(1, 1, _plain(lambda value: to_text(value).lower())),
    "UPPER": _Function(1, 1, _plain(lambda value: to_text(value).upper())),
    "LEN": _Function(1, 1, _plain(lambda value: len(to_text(value)))),
    "TRIM": _Function(1, 1, _plain(lambda value: to_text(value).strip())),
    "CONCATENATE": _Function(1, None, _plain(lambda *values: "".join(to_text(v) for v in values))),
}


# --- compiling ---------------------------------------------------------------------------------


class CompiledFormula:
    """A parsed formula bound to a table's fields, ready to run against many records."""

    def __init__(self, text: str, evaluator: Evaluator, field_ids: frozenset[str]) -> None:
        self.text = text
        self.field_ids = field_ids
        self._evaluator = evaluator

    def evaluate(self, record_id: str, cell: CellLookup) -> Any:
        """The formula's value for one record; raises ``ArithmeticError`` for Airtable's ``#ERROR!``."""
        try:
            return self._evaluator(RecordScope(record_id, cell))
        except _EvaluationError as error:
            raise ArithmeticError(str(error)) from None

    def matches(self, record_id: str, cell: CellLookup) -> bool:
        try:
            return truthy(self._evaluator(RecordScope(record_id, cell)))
        except (_EvaluationError, TypeError, ValueError, OverflowError):
            return False


def compile_formula(text: str, resolve_field: Callable[[str], str | None]) -> CompiledFormula:
    """Parse ``text`` and bind field references with ``resolve_field`` (name or id -> field id)."""
    tree = parse(text)
    unknown: list[str] = []
    used: set[str] = set()

    def build(node: Node) -> Evaluator:
        if isinstance(node, Literal):
            value = node.value
            return lambda _scope: value
        if isinstance(node, FieldRef):
            field_id = resolve_field(node.name)
            if field_id is None:
                if node.name.upper() in {"TRUE", "FALSE"}:
                    constant = node.name.upper() == "TRUE"
                    return lambda _scope: constant
                if node.name not in unknown:
                    unknown.append(node.name)
                return lambda _scope: None
            used.add(field_id)
            return lambda scope: scope.cell(field_id)
        if isinstance(node, Negate):
            operand = build(node.operand)
            return lambda scope: -to_number(operand(scope))
        if isinstance(node, Binary):
            return build_binary(node)
        return build_call(node)

    def build_binary(node: Binary) -> Evaluator:
        left, right = build(node.left), build(node.right)
        op = node.op
        if op in _COMPARISONS:
            return lambda scope: _compare(op, left(scope), right(scope))
        if op == "&":
            return lambda scope: to_text(left(scope)) + to_text(right(scope))
        return lambda scope: _arithmetic(op, left(scope), right(scope))

    def build_call(node: Call) -> Evaluator:
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise FormulaError(f"Invalid formula: unknown function {node.name}()")
        count = len(node.args)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            raise FormulaError(f"Invalid formula: wrong number of arguments to {node.name}()")
        wanted = _record_id_set(node)
        if wanted is not None:
            return lambda scope: scope.record_id in wanted
        args = tuple(build(arg) for arg in node.args)
        run = function.run
        return lambda scope: run(scope, args)

    evaluator = build(tree)
    if unknown:
        raise FormulaError("Unknown field names: " + ", ".join(unknown))
    return CompiledFormula(text, evaluator, frozenset(used))


def _record_id_set(node: Call) -> frozenset[str] | None:
    """``OR(RECORD_ID()='rec…', …)`` as a set lookup, so a hundred terms stay cheap on big tables."""
    if node.name != "OR":
        return None
    wanted: set[str] = set()
    for arg in node.args:
        if not isinstance(arg, Binary) or arg.op != "=":
            return None
        sides = (arg.left, arg.right)
        literal = next((side for side in sides if isinstance(side, Literal)), None)
        call = next((side for side in sides if isinstance(side, Call)), None)
        if literal is None or call is None or call.name != "RECORD_ID" or call.args:
            return None
        if not isinstance(literal.value, str):
            return None
        wanted.add(literal.value)
    return frozenset(wanted)
