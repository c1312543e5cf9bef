"""Request-size guard: refuse oversize API bodies with 413 in the API error shape before parsing.

JSON bodies are capped by DATA_UPLOAD_MAX_MEMORY_SIZE; multipart uploads (attachments) by the larger
CXDESK_MAX_UPLOAD_BYTES, since file parts stream to disk instead of memory."""

from django.conf import settings
from django.http import JsonResponse


class ApiBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
            limit = settings.CXDESK_MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if length > limit:
                return JsonResponse(
                    {"error": {"code": "payload_too_large",
                               "message": f"The request body is larger than {limit} bytes.",
                               "fields": {"body": "too large"}}},
                    status=413,
                )
        return self.get_response(request)
