// Package soql parses and evaluates the subset of Salesforce's SOQL that the
// emulator serves: field lists with parent relationship paths, COUNT(), one
// level of child subquery, WHERE with comparison, IN, LIKE, date literals
// and semi-joins (Id IN (SELECT …)), GROUP BY with HAVING and the aggregate
// functions COUNT, COUNT_DISTINCT, MIN, MAX, SUM and AVG (aliases, or
// expr0, expr1…), ORDER BY, LIMIT and OFFSET. Errors
// carry Salesforce's error codes and its "ERROR at Row:R:Column:C" message
// shape.
//
// Parse checks syntax; Compile resolves names against a Schema (which also
// hides objects the caller may not read) and returns a Plan whose Match,
// CompareRecords and Columns a store uses to run the query; an aggregate
// plan's rows come from AggregateRows.
package soql
