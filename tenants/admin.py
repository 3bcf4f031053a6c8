from django.contrib import admin

from tenants.models import Clinic, Domain, Plan


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "schema_name", "plan", "status", "created_at"]
    list_filter = ["status", "plan"]
    search_fields = ["name", "slug", "owner_email"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [DomainInline]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "max_branches", "max_staff", "monthly_price_minor", "currency"]
