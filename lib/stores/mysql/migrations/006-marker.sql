-- The store's marker (one row, a random id written once by migrate): gone with the data (stamp()).
CREATE TABLE IF NOT EXISTS wn_marker (
  id TINYINT NOT NULL PRIMARY KEY,
  marker CHAR(36) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
