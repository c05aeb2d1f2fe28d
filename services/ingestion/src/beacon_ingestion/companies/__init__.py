"""Company data: the bundled constituents list (`catalogue`), CSV/JSON imports (`imports`,
`company_data`) and the offline news sentiment (`sentiment`)."""
