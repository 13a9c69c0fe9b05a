"""What several measures views share: the documented error answers. (The scoped reads whose miss is a
404 are in measures/selectors.py.)"""

from kernel.api.views import error_responses

ERROR_TEXT = {
    400: "Invalid input or a broken rule; `errors` names each field (`item_N` for an answer).",
    401: "Not signed in.",
    403: "Signed in, but this role may not do this (the message says which role may).",
    404: "No such record on your caseload.",
    409: "The record changed while saving; reload and try again.",
}


def api_responses(ok, ok_status: int = 200, errors=(400, 401, 403, 404, 409)) -> dict:
    return error_responses(ok, ERROR_TEXT, ok_status, errors)


READ_ERRORS = (401, 403, 404)
LIST_ERRORS = (400, 401, 403)
