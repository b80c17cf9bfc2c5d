"""Cell values as Airtable's REST API (V1) takes and returns them.

Stored values are always in their normal REST form; an empty value (``""``, ``[]``, ``False``,
``None``) is never stored, which is how reads come to omit empty cells.
"""

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from .errors import AirtableApiError, invalid_value

if TYPE_CHECKING:
    from .model import Field, Table

TEXT_TYPES = {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber"}
NUMBER_TYPES = {"number", "currency", "percent", "duration"}
COMPUTED_TYPES = {
    "autoNumber",
    "createdTime",
    "lastModifiedTime",
    "formula",
    "rollup",
    "count",
    "multipleLookupValues",
    "createdBy",
    "lastModifiedBy",
    "button",
}
SELECT_COLORS = [
    "blueLight2",
    "cyanLight2",
    "tealLight2",
    "greenLight2",
    "yellowLight2",
    "orangeLight2",
    "redLight2",
    "pinkLight2",
    "purpleLight2",
    "grayLight2",
]


def is_empty(value: Any) -> bool:
    return value is None or value is False or value in ("", [])


def _fail(field: "Field", detail: str) -> Exception:
    return invalid_value(field.name, detail)


def _as_number(field: "Field", value: Any, typecast: bool) -> int | float:
    if isinstance(value, bool):
        raise _fail(field, "expected a number")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(field, "expected a finite number")
        return value
    if typecast and isinstance(value, str):
        try:
            parsed = float(value.replace(",", "").strip())
        except ValueError:
            raise _fail(field, f"cannot convert {value!r} to a number") from None
        if not math.isfinite(parsed):
            raise _fail(field, "expected a finite number")
        return int(parsed) if parsed.is_integer() else parsed
    raise _fail(field, "expected a number")


def _as_date(field: "Field", value: Any, typecast: bool) -> str:
    if not isinstance(value, str):
        raise _fail(field, "expected a date string")
    try:
        if field.type == "date":
            text = value[:10] if typecast else value
            return date.fromisoformat(text).isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(field, f"cannot parse {value!r} as a {field.type}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _select_name(field: "Field", value: Any, typecast: bool, new_choice: Any) -> str:
    if not isinstance(value, str):
        raise _fail(field, "expected the name of an option")
    choices = field.options.setdefault("choices", []) if field.options is not None else []
    for choice in choices:
        if choice["name"] == value:
            return value
    if typecast:
        new_choice(field, value)
        return value
    raise AirtableApiError(
        422,
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
        f'Insufficient permissions to create new select option ""{value}""',
    )


def normalize(
    field: "Field",
    value: Any,
    *,
    typecast: bool,
    table: "Table",
    linked_record_exists: Any,
    new_choice: Any,
    new_attachment: Any,
) -> Any:
    """The stored (REST) form of ``value`` written to ``field``, or None when it is empty."""
    kind = field.type
    if kind in COMPUTED_TYPES:
        raise invalid_value(field.name, "the field is computed and cannot be written")
    if value is None:
        return None
    if kind in TEXT_TYPES:
        if isinstance(value, str):
            return value or None
        if typecast and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _fail(field, "expected a string")
    if kind in NUMBER_TYPES:
        return _as_number(field, value, typecast)
    if kind == "rating":
        number = _as_number(field, value, typecast)
        maximum = int((field.options or {}).get("max", 5))
        if int(number) != number or not 0 <= number <= maximum:
            raise _fail(field, f"expected an integer rating from 1 to {maximum}")
        return int(number) or None
    if kind == "checkbox":
        if isinstance(value, bool):
            return value or None
        if typecast and isinstance(value, str | int):
            return (str(value).strip().lower() in {"true", "1", "yes", "checked", "on"}) or None
        raise _fail(field, "expected a boolean")
    if kind in {"date", "dateTime"}:
        return _as_date(field, value, typecast) if value != "" else None
    if kind == "singleSelect":
        if value == "":
            return None
        return _select_name(field, value, typecast, new_choice)
    if kind == "multipleSelects":
        if typecast and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise _fail(field, "expected an array of option names")
        names: list[str] = []
        for item in value:
            name = _select_name(field, item, typecast, new_choice)
            if name not in names:
                names.append(name)
        return names or None
    if kind == "multipleRecordLinks":
        if typecast and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _fail(field, "expected an array of record ids")
        ids: list[str] = []
        for record_id in value:
            if not linked_record_exists(field, record_id):
                raise invalid_value(field.name, f'Record ID "{record_id}" does not exist in the linked table')
            if record_id not in ids:
                ids.append(record_id)
        if (field.options or {}).get("prefersSingleRecordLink") and len(ids) > 1:
            ids = ids[-1:]
        return ids or None
    if kind == "multipleAttachments":
        if not isinstance(value, list):
            raise _fail(field, "expected an array of attachment objects")
        attachments = [new_attachment(field, item) for item in value]
        return attachments or None
    # A type the emulator has no rules for: kept as given, like an opaque JSON cell.
    return None if is_empty(value) else value
