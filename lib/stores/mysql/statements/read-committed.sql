-- Every batch transaction's isolation: its locks stay on the rows it reaches.
SET TRANSACTION ISOLATION LEVEL READ COMMITTED
