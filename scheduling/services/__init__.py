"""Every write to the calendar goes through these functions."""

from scheduling.services.booking import appointment_book
from scheduling.services.catalogue import (
    branch_hours_replace,
    extra_shift_create,
    offering_set,
    policy_update,
    room_create,
    service_create,
    service_update,
    shift_pattern_create,
    special_day_create,
)
from scheduling.services.holds import (
    appointment_hold,
    appointment_hold_confirm,
    appointment_hold_extend,
    appointment_hold_lapse,
    appointment_hold_release,
)
from scheduling.services.leave import leave_cancel, leave_create
from scheduling.services.leave_resolution import LeaveDecision, LeaveResolved, leave_create_resolving
from scheduling.services.lifecycle import (
    TRANSITIONS,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_mark_no_show,
    appointment_reschedule,
    appointment_start,
)
from scheduling.services.link_changes import manage_link_cancel, manage_link_reschedule
from scheduling.services.links import manage_link_issue, manage_link_read, manage_link_resolve, manage_links_issue
from scheduling.services.resize import appointment_resize
from scheduling.services.series import Occurrence, series_book
from scheduling.services.series_changes import series_cancel_rest, series_move_rest
from scheduling.services.setup import (
    extra_shift_delete,
    extra_shift_update,
    room_set_active,
    service_offerings_set,
    service_price_set,
    shift_pattern_change,
    shift_pattern_end,
    special_day_delete,
    special_day_update,
)
from scheduling.services.waitlist import (
    Window,
    waitlist_join,
    waitlist_join_online,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
    waitlist_offer_reserve,
    waitlist_offers_expire,
    waitlist_policy_update,
    waitlist_remove,
)
from scheduling.services.walk_in import walk_in_book

__all__ = [
    "TRANSITIONS",
    "LeaveDecision",
    "LeaveResolved",
    "Occurrence",
    "Window",
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_complete",
    "appointment_confirm",
    "appointment_hold",
    "appointment_hold_confirm",
    "appointment_hold_extend",
    "appointment_hold_lapse",
    "appointment_hold_release",
    "appointment_mark_no_show",
    "appointment_reschedule",
    "appointment_resize",
    "appointment_start",
    "branch_hours_replace",
    "extra_shift_create",
    "extra_shift_delete",
    "extra_shift_update",
    "leave_cancel",
    "leave_create",
    "leave_create_resolving",
    "manage_link_cancel",
    "manage_link_issue",
    "manage_link_read",
    "manage_link_reschedule",
    "manage_link_resolve",
    "manage_links_issue",
    "offering_set",
    "policy_update",
    "room_create",
    "room_set_active",
    "series_book",
    "series_cancel_rest",
    "series_move_rest",
    "service_create",
    "service_offerings_set",
    "service_price_set",
    "service_update",
    "shift_pattern_change",
    "shift_pattern_create",
    "shift_pattern_end",
    "special_day_create",
    "special_day_delete",
    "special_day_update",
    "waitlist_join",
    "waitlist_join_online",
    "waitlist_leave",
    "waitlist_offer_accept",
    "waitlist_offer_decline",
    "waitlist_offer_reserve",
    "waitlist_offers_expire",
    "waitlist_policy_update",
    "waitlist_remove",
    "walk_in_book",
]
