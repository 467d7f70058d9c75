"""Packages in the admin (docs/design.md §15): inline on their function, items on the
package's page, an item of another function refused, sales shown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.support.factories import (
    confirm,
    hold_package,
    make_event,
    make_function,
    make_package,
    make_ticket_type,
)
from tests.tickets.admin.test_functions import function_form
from tickets.models import Package, PackageItem, Registration

pytestmark = pytest.mark.django_db


def package_form(package: Package, items: list[tuple[int, int]], **changes) -> dict:
    data = {
        "function": package.function_id,
        "name": package.name,
        "description": package.description,
        "price": str(package.price),
        "sales_start_0": "",
        "sales_start_1": "",
        "sales_end_0": "",
        "sales_end_1": "",
        "max_per_order": package.max_per_order,
        "published": "on",
        "position": package.position,
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
    }
    for n, (ticket_type_id, quantity) in enumerate(items):
        data[f"items-{n}-ticket_type"] = ticket_type_id
        data[f"items-{n}-quantity"] = quantity
    return {**data, **changes}


@pytest.fixture
def package():
    function = make_function()
    return Package.objects.create(function=function, name="Lodge package", price=Decimal("1150"))


def test_an_item_of_another_function_is_refused(admin_client, package):
    ours = make_ticket_type(make_event(package.function))
    theirs = make_ticket_type(make_event(make_function()))
    url = reverse("admin:tickets_package_change", args=[package.pk])
    response = admin_client.post(url, package_form(package, [(ours.pk, 1), (theirs.pk, 1)]))
    assert response.status_code == 200  # the form again, with the error
    assert not PackageItem.objects.exists()
    response = admin_client.post(url, package_form(package, [(ours.pk, 1)]))
    assert response.status_code == 302
    assert list(package.items.values_list("ticket_type_id", "quantity")) == [(ours.pk, 1)]


def test_a_lodge_package_needs_whole_tables_of_a_ticket_type_sold_by_the_table(
    admin_client, package
):
    banquet = make_ticket_type(make_event(package.function), sold_by_table=True)
    url = reverse("admin:tickets_package_change", args=[package.pk])
    lodges = {"registration_types": [Registration.Type.LODGE]}
    response = admin_client.post(url, package_form(package, [(banquet.pk, 7)], **lodges))
    assert response.status_code == 200
    assert "multiple of 10 seats" in response.content.decode()
    assert (
        admin_client.post(url, package_form(package, [(banquet.pk, 10)], **lodges)).status_code
        == 302
    )
    package.refresh_from_db()
    assert package.registration_types == [Registration.Type.LODGE]


def test_the_function_page_edits_packages_inline_and_shows_their_sales(admin_client):
    function = make_function()
    ceremony = make_ticket_type(make_event(function), max_per_order=50)
    package = make_package([(ceremony, 1)], name="Ceremony pack")
    hold_package(package, 2, buyer="holder")
    confirm(ceremony, 1)  # a single sale is no package sale
    url = reverse("admin:tickets_function_change", args=[function.pk])
    page = admin_client.get(url).content.decode()
    assert "Ceremony pack" in page
    assert "0 sold · 2 held" in page
    form = function_form(
        function,
        **{
            "packages-TOTAL_FORMS": "1",
            "packages-INITIAL_FORMS": "1",
            "packages-0-id": package.pk,
            "packages-0-function": function.pk,
            "packages-0-name": "Ceremony pack",
            "packages-0-price": "99.00",
            "packages-0-max_per_order": "3",
            "packages-0-published": "on",
            "packages-0-position": "0",
        },
    )
    assert admin_client.post(url, form).status_code == 302
    package.refresh_from_db()
    assert (package.price, package.max_per_order) == (Decimal("99.00"), 3)
    listing = admin_client.get(reverse("admin:tickets_package_changelist")).content.decode()
    assert "0 sold · 2 held" in listing
