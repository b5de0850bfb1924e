"""The booking service's database: tables on one MetaData, and the queries the use cases need."""
