"""Why a command could not be sent; `status` is the HTTP status the API answers with."""


class HubError(Exception):
    status = 400


class StationNotConnected(HubError):
    status = 404


class UnknownAction(HubError):
    status = 400
