"""The branch pages: an owner opens a branch and changes it from the settings pages, each form
handed to the same branch service the API uses."""

from __future__ import annotations

from tenants.org.models import Branch
from tests.helpers import sign_in


def test_owner_opens_a_branch_and_changes_its_details_from_the_pages(in_a, client):
    # given the owner signed in
    sign_in(client, in_a.users["owner"])
    form = {"name": "Harbour", "address": "1 Quay Street", "timezone": "Europe/Dublin", "phone": "+353 1 234 5678"}
    # when she opens a branch from the page
    created = client.post("/settings/branches/new/", form, HTTP_HOST=in_a.host)
    # then the branch holds every field she typed (the phone as the service stores it), the time zone among them
    assert created.status_code == 302
    branch = Branch.objects.get(name="Harbour")
    assert (branch.address, branch.timezone, branch.phone) == ("1 Quay Street", "Europe/Dublin", "+35312345678")

    # when she moves it to another zone and address, and closes it
    changed = {**form, "address": "2 Dock Road", "timezone": "Europe/Lisbon"}
    edited = client.post(f"/settings/branches/{branch.pk}/", changed, HTTP_HOST=in_a.host)
    # then the branch is changed as she typed it, and closed (the box was left unticked)
    assert edited.status_code == 302
    branch.refresh_from_db()
    assert (branch.name, branch.address, branch.timezone) == ("Harbour", "2 Dock Road", "Europe/Lisbon")
    assert branch.is_active is False
