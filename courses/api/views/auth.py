"""API sign-in: issue a token (password, and the second factor where it applies), list one's own
tokens, revoke the current one or all of them. The rules live in accounts.tokens and accounts.mfa;
these views only check the request's shape and call them."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import APIException, AuthenticationFailed, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts import lockout, mfa, tokens
from accounts.models import ApiToken
from accounts.tokens import ApiTokenAuthentication
from courses.api.views._common import api_responses
from kernel.api.serializers import ErrorSerializer

OTP_MAX_LENGTH = 64


class AccountLocked(APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many failed sign-ins: this account is locked for a while. Try again later."
    default_code = "locked_out"


class TokenRequestSerializer(AuthTokenSerializer):
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=OTP_MAX_LENGTH,
        write_only=True,
        help_text="The second factor: the 6-digit code from the authenticator app, or a recovery code. "
        "Required for practice leads, administrators and anyone who has set up an authenticator.",
    )


class TokenIssuedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key: shown this once, never stored in clear.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (API_TOKEN_TTL_HOURS after issue).")


class TokenInfoSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="True for the token this request was sent with.")
    live = serializers.SerializerMethodField(help_text="Neither expired nor revoked.")

    class Meta:
        model = ApiToken
        fields = ["created", "expiry", "revoked_at", "live", "current"]

    def get_current(self, obj) -> bool:
        auth = self.context.get("auth")
        return isinstance(auth, ApiToken) and auth.pk == obj.pk

    def get_live(self, obj) -> bool:
        return tokens.token_is_live(obj)


class TokenView(GenericAPIView):
    """Exchange a staff username and password (and the second factor, where it applies) for an API
    token that expires after API_TOKEN_TTL_HOURS. To rotate, ask for a new token here and revoke
    the old one with /api/auth/logout/.

    Failed attempts count towards the account lockout (django-axes): DRF's serializer passes
    the request to authenticate(), which is what axes needs.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses=api_responses(TokenIssuedSerializer, errors=(400, 403, 429)),
        auth=[],
        tags=["auth"],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            # django-axes marks the request when the username is locked; say so, not "wrong password".
            if getattr(request, "axes_locked_out", False):
                raise AccountLocked()
            raise serializers.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        if not user.is_clinic_staff:
            raise PermissionDenied("Sign in with a clinic staff account.")
        # Required by policy (leads, superusers, or everyone) or chosen by the user (an enrolled app).
        if mfa.second_factor_required(user):
            if not mfa.has_second_factor(user):
                raise serializers.ValidationError(
                    {"otp": ["This account must set up its second factor first: sign in on the web to enrol."]}
                )
            code = (serializer.validated_data.get("otp") or "").strip()
            if not code:
                raise serializers.ValidationError(
                    {"otp": ["Required for this account: the code from your authenticator app, or a recovery code."]}
                )
            # With the request, a wrong code counts towards the lockout like a wrong password.
            waited = mfa.wait_seconds(user)  # before the check: a wrong code starts a new back-off
            if not mfa.verify_second_factor(user, code, request=request):
                if getattr(request, "axes_locked_out", False) or lockout.is_locked(request, user.get_username()):
                    raise AccountLocked()
                if waited:
                    raise serializers.ValidationError(
                        {"otp": [f"Wait {waited} seconds after a wrong code, then send the newest code."]}
                    )
                raise serializers.ValidationError({"otp": ["This code is wrong or has been used already."]})
        instance, key = tokens.token_issue(user=user)
        return Response(TokenIssuedSerializer({"token": key, "expiry": instance.expiry}).data)


class TokenLogoutView(GenericAPIView):
    """Revoke the token this request is sent with (it stops working at once)."""

    authentication_classes = [ApiTokenAuthentication]
    serializer_class = None

    @extend_schema(
        request=None,
        responses=api_responses(
            inline_serializer("TokensRevoked", {"revoked": serializers.IntegerField()}), errors=(401, 403)
        ),
        tags=["auth"],
    )
    def post(self, request):
        if not isinstance(request.auth, ApiToken):
            raise AuthenticationFailed("Send the token to revoke in the Authorization header.")
        count = tokens.token_revoke(
            by=request.user, user=request.user, tokens=ApiToken.objects.filter(pk=request.auth.pk), why="logout"
        )
        return Response({"revoked": count})


class TokenLogoutAllView(GenericAPIView):
    """Revoke every token of the signed-in member of staff (from the API, or from a signed-in browser)."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    serializer_class = None

    @extend_schema(
        request=None,
        responses=api_responses(
            inline_serializer("TokensRevokedAll", {"revoked": serializers.IntegerField()}), errors=(401, 403)
        ),
        tags=["auth"],
    )
    def post(self, request):
        count = tokens.token_revoke(
            by=request.user, user=request.user, tokens=tokens.tokens_of(request.user), why="logout everywhere"
        )
        return Response({"revoked": count})


class TokenListView(GenericAPIView):
    """The signed-in member of staff's own tokens, newest first: dates only, never a key."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    serializer_class = TokenInfoSerializer
    pagination_class = None

    @extend_schema(
        responses={
            200: TokenInfoSerializer(many=True),
            401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
            403: OpenApiResponse(ErrorSerializer, description="Not a clinic staff account."),
        },
        tags=["auth"],
    )
    def get(self, request):
        rows = tokens.tokens_of(request.user)[:200]
        return Response(TokenInfoSerializer(rows, many=True, context={"auth": request.auth}).data)
