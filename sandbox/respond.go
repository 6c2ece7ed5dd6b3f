package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// Every answer, 204 included, carries this Content-Type: the recordings show
// it on the empty 204 of DELETE /users/{id}/roles.
const jsonContentType = "application/json; charset=utf-8"

// reply is an answer built under the tenant's lock and written after it is
// released, so that a fault can still replace it and a slow client cannot
// hold the lock.
type reply struct {
	status int
	body   []byte // nil: no body
	header http.Header
}

func (r *reply) setHeader(key, value string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(key, value)
}

// setRawHeader keeps the key's spelling: Auth0 sends x-ratelimit-* in lower
// case, and Go would otherwise canonicalise them to X-Ratelimit-*.
func (r *reply) setRawHeader(key, value string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header[key] = []string{value}
}

func (r reply) write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.header {
		h[k] = v
	}
	h.Set("Content-Type", jsonContentType)
	if r.body != nil {
		h.Set("Content-Length", strconv.Itoa(len(r.body)))
	}
	w.WriteHeader(r.status)
	if r.body != nil && r.status != http.StatusNoContent {
		_, _ = w.Write(r.body)
	}
}

// marshal encodes like JSON.stringify does: no HTML escaping, no newline.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("sandbox: cannot encode response: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func jsonReply(status int, v any) reply {
	return reply{status: status, body: marshal(v)}
}

func noContent() reply { return reply{status: http.StatusNoContent} }

// apiError is the Management API's error shape. errorCode is absent from
// some real answers (e.g. "The role does not exist."), hence omitempty.
type apiError struct {
	StatusCode int              `json:"statusCode"`
	ErrorText  string           `json:"error"`
	Message    string           `json:"message"`
	ErrorCode  string           `json:"errorCode,omitempty"`
	Attributes *errorAttributes `json:"attributes,omitempty"`
}

type errorAttributes struct {
	Error string `json:"error"`
}

func errorReply(status int, message, errorCode string) reply {
	return jsonReply(status, apiError{
		StatusCode: status,
		ErrorText:  http.StatusText(status),
		Message:    message,
		ErrorCode:  errorCode,
	})
}

// notFoundRoute is what a hapi server (Auth0's Management API is one) says
// for a path or method it has no route for.
func notFoundRoute() reply {
	return errorReply(http.StatusNotFound, "Not Found", "")
}

func userNotFound() reply {
	return errorReply(http.StatusNotFound, "The user does not exist.", "inexistent_user")
}

// unauthorized carries the recorded WWW-Authenticate header and, for a
// rejected token, the attributes object of the recorded body.
func unauthorized(message string) reply {
	rep := jsonReply(http.StatusUnauthorized, apiError{
		StatusCode: http.StatusUnauthorized,
		ErrorText:  http.StatusText(http.StatusUnauthorized),
		Message:    message,
		Attributes: &errorAttributes{Error: message},
	})
	rep.setHeader("WWW-Authenticate", `Token error="`+message+`"`)
	return rep
}

// missingAuthentication is hapi's answer when no credentials were sent.
func missingAuthentication() reply {
	rep := errorReply(http.StatusUnauthorized, "Missing authentication", "")
	rep.setHeader("WWW-Authenticate", "Token")
	return rep
}

func tooManyRequests() reply {
	return errorReply(http.StatusTooManyRequests, "Global limit has been reached", "too_many_requests")
}

// serverError covers the 5xx answers of injected faults. 500 uses hapi's
// generic text; the others echo the reason phrase.
func serverError(status int) reply {
	msg := http.StatusText(status)
	if status == http.StatusInternalServerError {
		msg = "An internal server error occurred"
	}
	return errorReply(status, msg, "")
}

// oauthError is the Authentication API's error shape.
func oauthError(status int, code, description string) reply {
	rep := jsonReply(status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, description})
	rep.setHeader("Cache-Control", "no-store")
	rep.setHeader("Pragma", "no-cache")
	return rep
}
