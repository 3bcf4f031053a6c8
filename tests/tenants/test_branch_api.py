"""The branch API: a branch's time zone, sent as `timezone`, is what the branch services store."""

from __future__ import annotations

from django_tenants.utils import schema_context

from tenants.org.models import Branch


def test_owner_opens_a_branch_in_a_zone_and_moves_it_to_another_by_the_api(api, chain_a):
    # given the owner at the API
    owner = api(chain_a, "owner")
    # when she opens a branch in Dublin's zone
    body = {"name": "Harbour", "timezone": "Europe/Dublin", "address": "Quay"}
    opened = owner.call("POST", "/api/v1/branches/", body)
    # then it is answered and stored in that zone, with what else she sent
    assert opened.status_code == 201, opened.content
    assert opened.json()["timezone"] == "Europe/Dublin"
    pk = opened.json()["id"]
    with schema_context(chain_a.schema):
        assert Branch.objects.values_list("timezone", "address").get(pk=pk) == ("Europe/Dublin", "Quay")
    # when she moves it to Lisbon's zone, changing nothing else
    moved = owner.call("PATCH", f"/api/v1/branches/{pk}/", {"timezone": "Europe/Lisbon"})
    # then the zone is changed and the rest kept
    assert moved.status_code == 200, moved.content
    assert moved.json()["timezone"] == "Europe/Lisbon"
    with schema_context(chain_a.schema):
        assert Branch.objects.values_list("timezone", "address", "name").get(pk=pk) == (
            "Europe/Lisbon",
            "Quay",
            "Harbour",
        )
