"""The append-only access log: who read or touched which record, when, and from where.

Rows are only ever inserted. The app's database role may only INSERT and SELECT them, and a trigger
(migration 0002) refuses UPDATE, DELETE and TRUNCATE to anyone, so not even a bug or a compromised
admin page in the app can rewrite the trail; the hash chain shows whether anyone with the owner's
powers did."""

from __future__ import annotations

from django.db import models


class AccessLog(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        LIST = "list", "Listed"
        SEARCH = "search", "Searched"
        EXPORT = "export", "Exported"
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        BREAK_GLASS = "break_glass", "Emergency access"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Plain columns, no foreign keys: the log must outlive whatever it mentions.
    actor_id = models.BigIntegerField(null=True, db_index=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)
    # The hash chain, filled in by the database as each row is inserted (migration 0003): seq is the
    # row's place in its chain's log, prev_hash the hash of the row before it, and hash =
    # sha256(prev_hash | the row's columns). Editing or removing a row breaks the chain where it was
    # (tenants.audit.selectors.access_log_chain_verify, manage.py audit_verify).
    seq = models.BigIntegerField(db_default=0, editable=False)
    prev_hash = models.CharField(max_length=64, db_default="", editable=False)
    hash = models.CharField(max_length=64, db_default="", editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [models.UniqueConstraint(fields=["seq"], name="audit_accesslog_seq_unique")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"
