from django.urls import path, register_converter

from config.fields import IsoDateConverter
from scheduling.api import days, leave_views, online, setup_views, views, waitlist

register_converter(IsoDateConverter, "isodate")

urlpatterns = [
    path("scheduling/services/", views.ServiceListApi.as_view(), name="api-services"),
    path("scheduling/services/<int:pk>/", views.ServiceDetailApi.as_view(), name="api-service"),
    path("scheduling/rooms/", views.RoomListApi.as_view(), name="api-rooms"),
    path("scheduling/shifts/", views.ShiftListApi.as_view(), name="api-shifts"),
    path("scheduling/extra-shifts/", views.ExtraShiftApi.as_view(), name="api-extra-shifts"),
    path("scheduling/offerings/", views.OfferingsApi.as_view(), name="api-offerings"),
    path("scheduling/policy/", views.PolicyApi.as_view(), name="api-policy"),
    path("scheduling/leave/", views.LeaveListApi.as_view(), name="api-leave"),
    path("scheduling/leave/<int:pk>/cancel/", views.LeaveCancelApi.as_view(), name="api-leave-cancel"),
    path("scheduling/leave/proposal/", leave_views.LeaveProposalApi.as_view(), name="api-leave-proposal"),
    path("scheduling/leave/resolve/", leave_views.LeaveResolveApi.as_view(), name="api-leave-resolve"),
    path("scheduling/waitlist/", waitlist.WaitlistApi.as_view(), name="api-waitlist"),
    path("scheduling/waitlist/offers/", waitlist.WaitlistOffersApi.as_view(), name="api-waitlist-offers"),
    path("scheduling/waitlist/<int:pk>/", waitlist.WaitlistEntryApi.as_view(), name="api-waitlist-entry"),
    path("branches/<int:pk>/hours/", views.BranchHoursApi.as_view(), name="api-branch-hours"),
    path("branches/<int:pk>/special-days/", views.SpecialDayApi.as_view(), name="api-branch-special-days"),
    path("availability/", views.AvailabilityApi.as_view(), name="api-availability"),
    path("availability/days/", days.AvailabilityDaysApi.as_view(), name="api-availability-days"),
    path("appointments/", views.AppointmentListApi.as_view(), name="api-appointments"),
    path("appointments/walk-in/", views.WalkInApi.as_view(), name="api-walk-in"),
    path("appointments/series/", views.SeriesApi.as_view(), name="api-series"),
    path("appointments/<int:pk>/", views.AppointmentDetailApi.as_view(), name="api-appointment"),
    path("appointments/<int:pk>/reschedule/", views.RescheduleApi.as_view(), name="api-reschedule"),
    path("appointments/<int:pk>/resize/", views.ResizeApi.as_view(), name="api-resize"),
    path("appointments/<int:pk>/cancel/", views.CancelApi.as_view(), name="api-cancel"),
    path("appointments/<int:pk>/confirm/", views.ConfirmApi.as_view(), name="api-confirm"),
    path("appointments/<int:pk>/check-in/", views.CheckInApi.as_view(), name="api-check-in"),
    path("appointments/<int:pk>/start/", views.StartApi.as_view(), name="api-start"),
    path("appointments/<int:pk>/complete/", views.CompleteApi.as_view(), name="api-complete"),
    path("appointments/<int:pk>/no-show/", views.NoShowApi.as_view(), name="api-no-show"),
    path("holds/", views.HoldApi.as_view(), name="api-holds"),
    path("holds/<int:pk>/", views.HoldDetailApi.as_view(), name="api-hold"),
    path("holds/<int:pk>/confirm/", views.HoldConfirmApi.as_view(), name="api-hold-confirm"),
    # online booking without an account (scheduling/api/online.py)
    path("online/holds/", online.OnlineHoldApi.as_view(), name="api-online-holds"),
    path("online/codes/", online.OnlineCodeApi.as_view(), name="api-online-codes"),
    path("online/holds/<int:pk>/confirm/", online.OnlineHoldConfirmApi.as_view(), name="api-online-hold-confirm"),
    path("calendar/branches/<int:pk>/day/<isodate:day>/", views.BranchDayApi.as_view(), name="api-branch-day"),
    path("calendar/doctors/<int:pk>/week/<isodate:day>/", views.DoctorWeekApi.as_view(), name="api-doctor-week"),
    # set-up changes and the rest of a series (scheduling/api/setup_views.py)
    path(
        "scheduling/services/<int:pk>/offerings/",
        setup_views.ServiceOfferingsApi.as_view(),
        name="api-service-offerings",
    ),
    path("scheduling/services/<int:pk>/prices/", setup_views.ServicePricesApi.as_view(), name="api-service-prices"),
    path("scheduling/rooms/<int:pk>/", setup_views.RoomDetailApi.as_view(), name="api-room"),
    path("scheduling/shifts/<int:pk>/", setup_views.ShiftDetailApi.as_view(), name="api-shift"),
    path("scheduling/shifts/<int:pk>/end/", setup_views.ShiftEndApi.as_view(), name="api-shift-end"),
    path("scheduling/extra-shifts/<int:pk>/", setup_views.ExtraShiftDetailApi.as_view(), name="api-extra-shift"),
    path(
        "branches/<int:pk>/special-days/<int:special_pk>/",
        setup_views.SpecialDayDetailApi.as_view(),
        name="api-branch-special-day",
    ),
    path(
        "appointments/<int:pk>/series/cancel-rest/",
        setup_views.SeriesCancelRestApi.as_view(),
        name="api-series-cancel-rest",
    ),
    path(
        "appointments/<int:pk>/series/move-rest/", setup_views.SeriesMoveRestApi.as_view(), name="api-series-move-rest"
    ),
]
