using Azure.Data.Tables;

namespace Functions.Core.Spend;

/// <summary>The spend table's client, as its own type so the classes sharing it can take it from DI.</summary>
public sealed record SpendTable(TableClient Client);
