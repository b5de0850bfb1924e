-- One database per service: each service owns its data and its migrations.
CREATE DATABASE screening;
CREATE DATABASE booking;
CREATE DATABASE notifications;
CREATE DATABASE staff;
