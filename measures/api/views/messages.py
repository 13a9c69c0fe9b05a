"""Messages not sent: the list and a retry."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from kernel.api.pagination import Pagination
from kernel.api.views import ApiView
from measures import selectors, services
from measures.api import serializers as s
from measures.api.views._common import LIST_ERRORS, api_responses
from measures.models import MessageStatus

UNSENT = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.FAILED)
MAX_MESSAGE_ID = 2**63 - 1


class MessageListView(ApiView):
    pagination_class = Pagination
    serializer_class = s.MessageSerializer

    @extend_schema(
        parameters=[s.MessageFilterSerializer],
        responses=api_responses(s.MessageSerializer(many=True), errors=LIST_ERRORS),
        tags=["messages"],
        description="Invitations, reminders and alert mails on the caller's caseload that have not been sent; "
        "`pending` ones past their quick retries show `next_attempt_at` and `retry_until` (the send sweep keeps "
        "trying); `failed` ones gave up after that and wait for staff. Addresses are masked; no message body.",
    )
    def get(self, request):
        filters = s.MessageFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data.get("status")
        qs = selectors.messages_with_links(request.user).filter(status__in=[wanted] if wanted else UNSENT)
        page = self.paginate_queryset(qs.order_by("created_at", "id"))
        return self.get_paginated_response(s.MessageSerializer(page, many=True).data)


class MessageRetryView(ApiView):
    serializer_class = s.MessageSerializer

    @extend_schema(
        parameters=[OpenApiParameter("message_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        request=None,
        responses=api_responses(s.MessageSerializer),
        tags=["messages"],
        description="Put a failed message (or one waiting for its next automatic retry) back in the queue, to the "
        "current address (the patient's, or the clinician's "
        "for an alert mail); it is sent "
        "once this request commits.",
    )
    def post(self, request, message_id):
        if not 1 <= message_id <= MAX_MESSAGE_ID:
            raise Http404("No such record on your caseload.")
        message = selectors.message_scoped(user=request.user, message_id=message_id)
        message = services.message_retry(message=message, by=request.user)
        return Response(s.MessageSerializer(selectors.messages_with_links(request.user).get(pk=message.pk)).data)
