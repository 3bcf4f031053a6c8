"""The patient API. Every read of patient data writes the access log; clinical data is checked
against the care team (or break-glass) before anything is fetched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from config.openapi import errors
from patients import selectors, services
from patients.api import serializers as s
from patients.exceptions import ConsentFormWithdrawn, FollowUpClosed, MergeRefused, NoteLocked, PossibleDuplicates
from patients.models import Attachment, ClinicalNote, ConsentForm, Diagnosis, FollowUp, Patient, Prescription
from tenants.audit.models import AccessLog
from tenants.audit.services import access_log_patients, access_log_records, access_log_trail_read
from tenants.authz import Actor, authorize
from tenants.org.models import StaffMember

_Changed = TypeVar("_Changed")


def _patient(request: Request, pk: int, perm: str = "patients.view_patient") -> Patient:
    patient = get_object_or_404(Patient, pk=pk)
    authorize(request.user, perm, patient)
    return patient


def _patient_change(
    request: Request, pk: int, change: Callable[..., _Changed], data_in: type[serializers.Serializer]
) -> _Changed:
    """`change`, a service of one patient (which checks who may), made by the user with what was sent."""
    patient = get_object_or_404(Patient, pk=pk)
    return change(actor=request.user, patient=patient, request=request._request, **validated(data_in, request))


class PatientListApi(GenericAPIView):
    queryset = Patient.objects.none()

    @extend_schema(
        summary="Search patients",
        responses=s.PatientOut(many=True),
        parameters=[OpenApiParameter("q", str, description="name, phone, MRN or date of birth")],
    )
    def get(self, request: Request) -> Response:
        authorize(request.user, "patients.add_patient")  # searching the register is for staff only
        page = self.paginate_queryset(selectors.patient_search(q=request.query_params.get("q", "")))
        rows = list(page or [])
        access_log_patients(request, action="search", patients=rows)
        return self.get_paginated_response(s.PatientOut(rows, many=True).data)

    @extend_schema(
        summary="Register a patient", request=s.PatientIn, responses={201: s.PatientOut, **errors(PossibleDuplicates)}
    )
    def post(self, request: Request) -> Response:
        patient = services.patient_create(
            actor=request.user, request=request._request, **validated(s.PatientIn, request)
        )
        return Response(s.PatientOut(patient).data, status=201)


class PatientDetailApi(APIView):
    @extend_schema(summary="Read a patient's details", responses=s.PatientOut)
    def get(self, request: Request, pk: int) -> Response:
        patient = _patient(request, pk)
        access_log_patients(request, action="view", patients=[patient])
        return Response(s.PatientOut(patient).data)

    @extend_schema(summary="Change a patient's details", request=s.PatientPatch, responses=s.PatientOut)
    def patch(self, request: Request, pk: int) -> Response:
        return Response(s.PatientOut(_patient_change(request, pk, services.patient_update, s.PatientPatch)).data)


class ConsentApi(APIView):
    @extend_schema(summary="Record a patient's consent to messages", request=s.ConsentIn, responses=s.PatientOut)
    def post(self, request: Request, pk: int) -> Response:
        return Response(s.PatientOut(_patient_change(request, pk, services.consent_set, s.ConsentIn)).data)


class MergeApi(APIView):
    @extend_schema(
        summary="Merge two records of one patient",
        request=s.MergeIn,
        responses={200: s.PatientOut, **errors(MergeRefused)},
    )
    def post(self, request: Request) -> Response:
        authorize(request.user, "patients.merge_patient")
        v = validated(s.MergeIn, request)
        kept = services.patient_merge(actor=request.user, keep=v["keep"], merge=v["merge"], request=request._request)
        return Response(s.PatientOut(kept).data)


class BreakGlassApi(APIView):
    @extend_schema(summary="Open emergency access to a clinical record", request=s.ReasonIn, responses={201: None})
    def post(self, request: Request, pk: int) -> Response:
        grant = _patient_change(request, pk, services.break_glass_open, s.ReasonIn)
        return Response({"expires_at": grant.expires_at}, status=201)


class CareTeamApi(APIView):
    @extend_schema(summary="List a patient's care team", responses=s.CareRelationOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        patient = _patient(request, pk)
        rows = list(selectors.care_team_current(patient=patient))
        access_log_records(request, action="list", object_type="care_relation", records=rows)
        return Response(s.CareRelationOut(rows, many=True).data)

    @extend_schema(
        summary="Add a doctor to a patient's care team", request=s.CareTeamIn, responses={201: s.CareRelationOut}
    )
    def post(self, request: Request, pk: int) -> Response:
        relation = _patient_change(request, pk, services.care_team_assign, s.CareTeamIn)
        return Response(s.CareRelationOut(relation).data, status=201)


class CareTeamMemberApi(APIView):
    @extend_schema(summary="Remove a doctor from a patient's care team", request=None, responses={204: None})
    def delete(self, request: Request, pk: int, doctor_pk: int) -> Response:
        patient = _patient(request, pk, "patients.assign_care")
        doctor = get_object_or_404(StaffMember, pk=doctor_pk)
        services.care_team_unassign(actor=request.user, patient=patient, doctor=doctor, request=request._request)
        return Response(status=204)


def _clinical_list(
    model: type, out: type, inp: type, create: Callable[..., Any], object_type: str, *, parsers: list | None = None
) -> type[APIView]:
    plural = model._meta.verbose_name_plural  # type: ignore[attr-defined]

    class ClinicalListApi(APIView):
        parser_classes = parsers or APIView.parser_classes

        @extend_schema(summary=f"List a patient's {plural}", responses=out(many=True))
        def get(self, request: Request, pk: int) -> Response:
            patient = _patient(request, pk, "patients.view_clinical")
            rows = list(model._default_manager.filter(patient=patient))  # type: ignore[attr-defined]
            access_log_records(request, action="list", object_type=object_type, records=rows)
            return Response(out(rows, many=True).data)

        @extend_schema(summary=f"Add to a patient's {plural}", request=inp, responses={201: out})
        def post(self, request: Request, pk: int) -> Response:
            patient = _patient(request, pk, "patients.write_clinical")
            created = create(actor=request.user, patient=patient, request=request._request, **validated(inp, request))
            return Response(out(created).data, status=201)

    ClinicalListApi.__name__ = f"{model.__name__}ListApi"
    return ClinicalListApi


NoteListApi = _clinical_list(ClinicalNote, s.NoteOut, s.NoteIn, services.note_create, "clinical_note")
DiagnosisListApi = _clinical_list(Diagnosis, s.DiagnosisOut, s.DiagnosisIn, services.diagnosis_add, "diagnosis")
PrescriptionListApi = _clinical_list(
    Prescription, s.PrescriptionOut, s.PrescriptionIn, services.prescription_add, "prescription"
)
FollowUpListApi = _clinical_list(FollowUp, s.FollowUpOut, s.FollowUpIn, services.follow_up_create, "follow_up")


def _upload(*, actor: Actor, patient: Patient, request: Any, file: Any, title: str, kind: str) -> Attachment:
    return services.attachment_add(actor=actor, patient=patient, upload=file, title=title, kind=kind, request=request)


AttachmentListApi = _clinical_list(
    Attachment, s.AttachmentOut, s.AttachmentIn, _upload, "attachment", parsers=[MultiPartParser]
)


def _note(request: Request, pk: int, perm: str) -> ClinicalNote:
    note = get_object_or_404(ClinicalNote.objects.select_related("patient"), pk=pk)
    authorize(request.user, perm, note.patient)
    return note


class NoteDetailApi(APIView):
    @extend_schema(summary="Read a clinical note", responses=s.NoteOut)
    def get(self, request: Request, pk: int) -> Response:
        note = _note(request, pk, "patients.view_clinical")
        access_log_records(request, action="view", object_type="clinical_note", records=[note])
        return Response(s.NoteOut(note).data)

    @extend_schema(summary="Change a draft note", request=s.NotePatch, responses={200: s.NoteOut, **errors(NoteLocked)})
    def patch(self, request: Request, pk: int) -> Response:
        note = _note(request, pk, "patients.write_clinical")
        v = validated(s.NotePatch, request)
        note = services.note_update(
            actor=request.user, note=note, title=v["title"], body=v["body"], request=request._request
        )
        return Response(s.NoteOut(note).data)


class NoteSignApi(APIView):
    @extend_schema(
        summary="Sign a note, locking its content", request=None, responses={200: s.NoteOut, **errors(NoteLocked)}
    )
    def post(self, request: Request, pk: int) -> Response:
        note = _note(request, pk, "patients.write_clinical")
        return Response(s.NoteOut(services.note_sign(actor=request.user, note=note, request=request._request)).data)


class AddendumApi(APIView):
    @extend_schema(
        summary="Add an addendum to a signed note",
        request=s.BodyIn,
        responses={201: s.AddendumOut, **errors(NoteLocked)},
    )
    def post(self, request: Request, pk: int) -> Response:
        note = _note(request, pk, "patients.write_clinical")
        addendum = services.addendum_add(
            actor=request.user, note=note, request=request._request, **validated(s.BodyIn, request)
        )
        return Response(s.AddendumOut(addendum).data, status=201)


class AttachmentDownloadApi(APIView):
    @extend_schema(summary="Download an attachment", responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, pk: int) -> FileResponse:
        attachment = get_object_or_404(Attachment.objects.select_related("patient"), pk=pk)
        authorize(request.user, "patients.view_clinical", attachment.patient)
        access_log_records(request, action="view", object_type="attachment", records=[attachment])
        # Always a download (never rendered in the site's origin), under the name it was uploaded with.
        response = FileResponse(
            attachment.file.open("rb"),
            content_type=attachment.content_type,
            as_attachment=True,
            filename=attachment.original_name or f"attachment-{attachment.pk}",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response


class FollowUpCloseApi(APIView):
    @extend_schema(summary="Close a follow-up", request=None, responses={200: s.FollowUpOut, **errors(FollowUpClosed)})
    def post(self, request: Request, pk: int) -> Response:
        follow_up = get_object_or_404(FollowUp.objects.select_related("patient"), pk=pk)
        closed = services.follow_up_close(actor=request.user, follow_up=follow_up, request=request._request)
        return Response(s.FollowUpOut(closed).data)


class ConsentFormListApi(APIView):
    @extend_schema(summary="List a patient's signed consent forms", responses=s.ConsentFormOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(Patient, pk=pk)
        rows = list(selectors.consent_form_list(actor=request.user, patient=patient))
        access_log_records(request, action="list", object_type="consent_form", records=rows)
        return Response(s.ConsentFormOut(rows, many=True).data)

    @extend_schema(summary="Record a signed consent form", request=s.ConsentFormIn, responses={201: s.ConsentFormOut})
    def post(self, request: Request, pk: int) -> Response:
        form = _patient_change(request, pk, services.consent_form_record, s.ConsentFormIn)
        return Response(s.ConsentFormOut(form).data, status=201)


class ConsentFormWithdrawApi(APIView):
    @extend_schema(
        summary="Withdraw a consent form",
        request=s.ConsentFormWithdrawIn,
        responses={200: s.ConsentFormOut, **errors(ConsentFormWithdrawn)},
    )
    def post(self, request: Request, pk: int) -> Response:
        form = get_object_or_404(ConsentForm, pk=pk)
        form = services.consent_form_withdraw(
            actor=request.user,
            consent_form=form,
            request=request._request,
            **validated(s.ConsentFormWithdrawIn, request),
        )
        return Response(s.ConsentFormOut(form).data)


class _AuditTrailApi(GenericAPIView):
    """A page of the access log, for those who audit it; reading the trail is itself logged."""

    queryset = AccessLog.objects.none()

    def trail(self, request: Request, **lookup: int) -> Response:
        authorize(request.user, "patients.view_audit")
        page = self.paginate_queryset(AccessLog.objects.filter(**lookup))
        access_log_trail_read(actor=request.user, rows=page or [], request=request._request)
        return self.get_paginated_response(s.AccessLogOut(page, many=True).data)


class PatientAuditApi(_AuditTrailApi):
    @extend_schema(summary="Who read a patient's data", responses=s.AccessLogOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        return self.trail(request, patient_id=pk)


class UserAuditApi(_AuditTrailApi):
    @extend_schema(summary="What a user read", responses=s.AccessLogOut(many=True))
    def get(self, request: Request, pk: int) -> Response:
        return self.trail(request, actor_id=pk)
