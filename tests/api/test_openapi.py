"""The OpenAPI schemas of both sites tell the truth: every operation has a summary and documents its
errors (the envelope, with the codes it can answer), each site serves its own operations, and the
error codes in the schema are the codes the error classes carry."""

from __future__ import annotations

import importlib
import json
import pkgutil
from enum import StrEnum
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from config.api import DRF_ERRORS
from config.error_codes import ErrorCode
from config.errors import ApplicationError
from config.openapi import ENVELOPE, codes_of
from patients.error_codes import PatientErrorCode
from scheduling.engine import Problem
from scheduling.error_codes import SchedulingErrorCode
from scheduling.models import CalendarEntry
from tenants.accounts.error_codes import AccountErrorCode
from tenants.error_codes import TenantErrorCode
from tenants.org.error_codes import OrgErrorCode
from tests.factories import Chain

METHODS = ("get", "post", "put", "patch", "delete")

# The module whose enum holds a class's codes: the longest package prefix of where it is defined.
MODULE_ENUMS: dict[str, type[StrEnum]] = {
    "config": ErrorCode,
    "scheduling": SchedulingErrorCode,
    "patients": PatientErrorCode,
    "tenants": TenantErrorCode,
    "tenants.org": OrgErrorCode,
    "tenants.accounts": AccountErrorCode,
}


def _schema(urlconf: str) -> dict[str, Any]:
    return SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)


@pytest.fixture(scope="module")
def tenant_schema() -> dict[str, Any]:
    return _schema("config.urls_tenant")


@pytest.fixture(scope="module")
def public_schema() -> dict[str, Any]:
    return _schema("config.urls_public")


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method]) for path, item in schema["paths"].items() for method in METHODS if method in item
    ]


def _codes(response: dict[str, Any]) -> set[str]:
    """The codes an error response allows, checking it is the envelope."""
    schema = response["content"]["application/json"]["schema"]
    envelope, restriction = schema["allOf"]
    assert envelope == {"$ref": f"#/components/schemas/{ENVELOPE}"}
    return set(restriction["properties"]["error"]["properties"]["code"]["enum"])


def _error_codes(operation: dict[str, Any], status: int) -> set[str]:
    return _codes(operation["responses"][str(status)])


@pytest.mark.parametrize("urlconf", ["config.urls_tenant", "config.urls_public"])
def test_both_schemas_are_valid_openapi(urlconf: str) -> None:
    # given / when the schema of one site
    schema = _schema(urlconf)
    # then it is valid OpenAPI 3 and holds the error envelope
    validate_schema(schema)
    envelope = schema["components"]["schemas"][ENVELOPE]
    assert envelope["required"] == ["error"]
    assert envelope["properties"]["error"]["required"] == ["code", "message", "fields"]


@pytest.mark.parametrize("site", ["tenant", "public"])
def test_every_operation_has_a_summary_and_documents_its_errors_with_the_envelope(
    site: str, tenant_schema: dict[str, Any], public_schema: dict[str, Any]
) -> None:
    # given the schema of one site
    schema = tenant_schema if site == "tenant" else public_schema
    operations = _operations(schema)
    assert operations
    for path, method, operation in operations:
        # then each operation says what it does
        assert operation.get("summary"), (method, path)
        # and every 4xx it documents is the envelope with at least one code; it documents some
        errors = {status: r for status, r in operation["responses"].items() if status.startswith("4")}
        assert {"400", "405", "406"} <= set(errors), (method, path, sorted(errors))
        for status, response in errors.items():
            assert _codes(response), (method, path, status)


def test_operations_document_what_their_shape_lets_them_answer(tenant_schema: dict[str, Any]) -> None:
    # given the chain's schema
    paths = tenant_schema["paths"]
    # then a body brings validation, parse and media-type errors
    book = paths["/api/v1/appointments/"]["post"]
    assert {"validation_error", "malformed_request", "bad_request"} <= _error_codes(book, 400)
    assert _error_codes(book, 415) == {"unsupported_media_type"}
    # an id in the path and a paginated list can be missing
    assert "not_found" in _error_codes(paths["/api/v1/appointments/{id}/"]["get"], 404)
    assert "not_found" in _error_codes(paths["/api/v1/appointments/"]["get"], 404)
    # a signed-in operation refuses the anonymous and the unauthorised
    assert _error_codes(book, 401) == {"not_authenticated", "authentication_failed"}
    assert {"permission_denied", "csrf_failed"} <= _error_codes(book, 403)
    # a read needs no CSRF token, and an operation without a body documents no 415
    listing = paths["/api/v1/appointments/"]["get"]
    assert "csrf_failed" not in _error_codes(listing, 403)
    assert "415" not in listing["responses"]


def test_a_booking_documents_every_rule_that_can_refuse_it(tenant_schema: dict[str, Any]) -> None:
    # given the operation that books an appointment
    book = tenant_schema["paths"]["/api/v1/appointments/"]["post"]
    # then its 409 lists each rule of the engine, and the idempotency refusal
    rules = {value for name, value in vars(Problem).items() if not name.startswith("_")}
    assert rules <= _error_codes(book, 409)
    assert "idempotency_key_reused" in _error_codes(book, 409)


def test_sign_in_documents_its_own_refusals_on_both_sites(
    tenant_schema: dict[str, Any], public_schema: dict[str, Any]
) -> None:
    for schema in (tenant_schema, public_schema):
        login = schema["paths"]["/api/v1/auth/login/"]["post"]
        assert "invalid_credentials" in _error_codes(login, 400)
        assert {"otp_required", "otp_invalid"} <= _error_codes(login, 401)
        assert {"login_locked", "otp_too_soon"} <= _error_codes(login, 429)
        # nobody is signed in yet: no credential is read, so no authentication refusal
        assert "authentication_failed" not in _error_codes(login, 401)


def test_the_public_schema_holds_only_platform_and_account_operations(public_schema: dict[str, Any]) -> None:
    paths = set(public_schema["paths"])
    assert paths
    assert all(p.startswith(("/api/v1/clinics/", "/api/v1/auth/", "/api/v1/me/")) for p in paths), sorted(paths)
    assert "/api/v1/clinics/" in paths


def test_each_site_serves_its_own_schema(chain_a: Chain, client: Any) -> None:
    # when the schema is asked of the public site and of a chain's site
    public = client.get("/api/v1/schema/?format=json", HTTP_HOST="localhost")
    chain = client.get("/api/v1/schema/?format=json", HTTP_HOST=chain_a.host)
    # then each lists its own operations: the platform's at the public site, the calendar at the chain's
    assert public.status_code == 200
    assert chain.status_code == 200
    public_paths, chain_paths = set(public.json()["paths"]), set(chain.json()["paths"])
    assert "/api/v1/clinics/" in public_paths
    assert "/api/v1/appointments/" not in public_paths
    assert "/api/v1/appointments/" in chain_paths
    assert "/api/v1/clinics/" not in chain_paths


def test_the_schema_view_answers_its_own_errors_in_the_envelope(chain_a: Chain, client: Any) -> None:
    # the schema view renders YAML unless asked otherwise: its errors must render too
    for host in ("localhost", chain_a.host):
        for method in ("delete", "post", "put", "patch"):
            refused = getattr(client, method)("/api/v1/schema/", HTTP_HOST=host)
            assert refused.status_code == 405, (host, method, refused.status_code)
        html = client.get("/api/v1/schema/", HTTP_HOST=host, HTTP_ACCEPT="text/html")
        assert html.status_code == 406, (host, html.status_code)


def test_every_chain_operation_documents_the_suspended_chain(chain_a: Chain, client: Any) -> None:
    # a suspended chain answers every request 403 clinic_suspended, before any view
    chain = client.get("/api/v1/schema/?format=json", HTTP_HOST=chain_a.host).json()
    public = client.get("/api/v1/schema/?format=json", HTTP_HOST="localhost").json()
    for path, operations in chain["paths"].items():
        for method, operation in operations.items():
            codes = operation["responses"]["403"]["content"]["application/json"]["schema"]["allOf"][1]
            assert "clinic_suspended" in codes["properties"]["error"]["properties"]["code"]["enum"], (method, path)
    # the platform's site has no chain to suspend
    assert "clinic_suspended" not in json.dumps(public["paths"])


# --- error codes: the enums and the classes -------------------------------------------------------
def _error_classes() -> list[type[ApplicationError]]:
    for package in ("config", "scheduling", "patients", "tenants"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations" not in info.name and ".management" not in info.name and "settings" not in info.name:
                importlib.import_module(info.name)
    found: list[type[ApplicationError]] = []
    stack: list[type[ApplicationError]] = [ApplicationError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    # FHIR answers its errors as OperationOutcomes with codes of its own, outside the OpenAPI schema.
    return [
        cls
        for cls in found
        if cls.__module__.split(".")[0] in {"config", "scheduling", "patients", "tenants"}
        and not cls.__module__.startswith("scheduling.fhir")
    ]


def _enum_of(cls: type) -> type[StrEnum]:
    owner = max((prefix for prefix in MODULE_ENUMS if f"{cls.__module__}.".startswith(f"{prefix}.")), key=len)
    return MODULE_ENUMS[owner]


def test_every_error_code_is_a_member_of_its_module_enum_and_every_member_is_used() -> None:
    # given every error class of the project
    classes = _error_classes()
    # then each code a class carries is in its module's enum (or a generic code everyone shares)
    for cls in classes:
        allowed = {*_enum_of(cls), *ErrorCode}
        assert set(codes_of(cls)) <= allowed, (cls, codes_of(cls))
    # and each enum member is carried by some class of that module
    carried: dict[type[StrEnum], set[str]] = {enum: set() for enum in MODULE_ENUMS.values()}
    for cls in classes:
        carried[_enum_of(cls)].update(codes_of(cls))
    for cls in DRF_ERRORS.values():
        carried[ErrorCode].update(codes_of(cls))
    for enum, codes in carried.items():
        members = {str(member) for member in enum}
        assert members <= codes, (enum.__name__, sorted(members - codes))


def test_class_codes_come_from_the_enums_not_loose_strings() -> None:
    # a class that sets its own code takes it from an enum member, so a rename cannot drift
    for cls in _error_classes():
        if "code" in vars(cls):
            assert isinstance(vars(cls)["code"], StrEnum), cls


# --- the shapes clients send --------------------------------------------------------------------
def _component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]


def test_time_fields_are_documented_as_the_wall_clock_strings_they_take(tenant_schema: dict[str, Any]) -> None:
    # a shift's times are HH:MM[:SS] without a zone, not RFC 3339's full-time (which needs an offset)
    starts = _component(tenant_schema, "ShiftInRequest")["properties"]["starts"]
    assert starts.get("format") != "time"
    assert starts["type"] == "string"
    assert starts["pattern"] == r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
    # and date-times stay date-times
    assert _component(tenant_schema, "EntryOut")["properties"]["start"]["format"] == "date-time"


def test_boolean_filters_are_documented_as_the_strings_they_take(tenant_schema: dict[str, Any]) -> None:
    params = tenant_schema["paths"]["/api/v1/appointments/"]["get"]["parameters"]
    is_override = next(p for p in params if p["name"] == "is_override")
    assert is_override["schema"]["type"] == "string"
    assert set(is_override["schema"]["enum"]) == {"true", "false"}


def test_request_bodies_are_json_only_except_the_upload(tenant_schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(tenant_schema):
        body = operation.get("requestBody")
        if body is None:
            continue
        types = set(body["content"])
        if path == "/api/v1/patients/{id}/attachments/":
            assert types == {"multipart/form-data"}, (method, path, types)
        else:
            assert types == {"application/json"}, (method, path, types)


def test_the_idempotency_key_is_documented_with_its_semantics(tenant_schema: dict[str, Any]) -> None:
    for path in ("/api/v1/appointments/", "/api/v1/holds/{id}/confirm/"):
        operation = tenant_schema["paths"][path]["post"]
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header"
        assert "idempotency_key_reused" in header["description"]
        assert header["schema"]["maxLength"] == CalendarEntry._meta.get_field("idempotency_key").max_length
        assert "idempotency_key_reused" in _error_codes(operation, 409)
