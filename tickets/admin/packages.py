"""Packages (docs/design.md §15): edited inline on their function, their items on the
package's own page (an inline cannot hold another inline). An item of another function's
ticket type is refused; what each package has sold and has on hold is shown."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet

from tickets.models import Package, PackageItem, Registration
from tickets.services.packages import package_sales

# What staff edit of a package, on the function page and on its own.
PACKAGE_FIELDS = (
    "name",
    "price",
    "registration_types",
    "sales_start",
    "sales_end",
    "max_per_order",
    "published",
    "position",
)


class PackageAdminForm(forms.ModelForm):
    registration_types = forms.MultipleChoiceField(
        choices=Registration.Type.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Who may buy it; none ticked: anyone.",
    )

    class Meta:
        model = Package
        fields = ("function", PACKAGE_FIELDS[0], "description", *PACKAGE_FIELDS[1:])


class PackageItemFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        package = self.instance
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            ticket_type = form.cleaned_data.get("ticket_type")
            if ticket_type is not None and ticket_type.event.function_id != package.function_id:
                form.add_error(
                    "ticket_type",
                    "A package can only contain ticket types of its own function.",
                )
        if (
            not any(
                hasattr(f, "cleaned_data")
                and f.cleaned_data.get("ticket_type")
                and not f.cleaned_data.get("DELETE")
                for f in self.forms
            )
            and package.pk is not None
            and package.published
        ):
            raise ValidationError("A published package needs at least one item.")


class PackageItemInline(admin.TabularInline):
    model = PackageItem
    formset = PackageItemFormSet
    extra = 1
    fields = ("ticket_type", "quantity")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "ticket_type":
            package_id = request.resolver_match.kwargs.get("object_id")
            if package_id and str(package_id).isdigit():
                field = super().formfield_for_foreignkey(db_field, request, **kwargs)
                function_id = Package.objects.filter(pk=package_id).values("function_id")
                field.queryset = field.queryset.filter(event__function_id__in=function_id)
                return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SalesColumn:
    """`sold · held` packages, counted in one query for the rows shown."""

    @admin.display(description="Sold · held")
    def sales(self, package: Package) -> str:
        if package.pk is None:
            return "-"
        sold, held = package_sales([package.pk])[package.pk]
        return f"{sold} sold · {held} held"


class PackageInline(SalesColumn, admin.TabularInline):
    model = Package
    form = PackageAdminForm
    extra = 0
    fields = (*PACKAGE_FIELDS, "sales")
    readonly_fields = ("sales",)
    show_change_link = True


@admin.register(Package)
class PackageAdmin(SalesColumn, admin.ModelAdmin):
    form = PackageAdminForm
    list_display = ("name", "function", "price", "published", "sales")
    list_filter = ("function",)
    readonly_fields = ("sales",)
    inlines = [PackageItemInline]
