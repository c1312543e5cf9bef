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
