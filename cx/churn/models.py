from django.db import models


class ChurnScore(models.Model):
    """The latest churn-risk prediction for one customer (one row per customer, replaced on each scoring).

    ``reasons`` lists the features that push this customer's risk up most, strongest first:
    ``[{"feature": "sla_breaches_90d", "label": "2 SLA breaches in 90 days", "effect": 0.12}, ...]``
    where ``effect`` is the change in probability the feature accounts for.
    """

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="churn_score")
    probability = models.FloatField()  # calibrated, 0-1
    reasons = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=64)
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["-probability"], name="churn_score_probability_idx")]

    def __str__(self) -> str:
        return f"churn risk {self.probability:.2f} for customer #{self.customer_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ChurnModelRun(models.Model):
    """One training run of the in-product churn model and, when it succeeded, the fitted model itself.

    Trained on features computed as of ``snapshot_at`` (= ``as_of`` - horizon) and labelled with
    ``churn_outcomes`` at ``as_of``; the newest ready run is the one that scores customers.
    """

    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=20, default="admin")  # admin, api, command, schedule, demo
    as_of = models.DateTimeField(null=True, blank=True)
    snapshot_at = models.DateTimeField(null=True, blank=True)
    horizon_days = models.PositiveIntegerField(default=90)
    customers = models.PositiveIntegerField(default=0)  # training rows
    churned = models.PositiveIntegerField(default=0)
    cv_auc = models.FloatField(null=True, blank=True)
    scored = models.PositiveIntegerField(default=0)  # customers scored with this model (last rescoring)
    drivers = models.JSONField(default=list, blank=True)  # [{"feature","label","importance","direction"}]
    error = models.TextField(blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    artifact = models.BinaryField(default=b"", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"churn model {self.version} ({self.status})"

    @property
    def version(self) -> str:
        return f"churn-v{self.pk}"
