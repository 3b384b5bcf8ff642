using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Npgsql;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// A test schema of the real PostgreSQL with a real key file beside it (in a temp directory of its own), services and
/// stores over it with or without the key, and the stored rows read raw: each row's key id is read from its bytes
/// here (the envelope's header), not through the schema's own <c>payload_key_id</c>, so the tests check it too.
/// </summary>
internal sealed class EncryptedSchema : IAsyncDisposable
{
    public const string Description = "OTTER-task-description-4411";
    public const string SessionLine = "OTTER-session-log-line-90aa";
    public const string ReportText = "OTTER-report-content-7c3e";
    public const int Items = 40;

    private readonly TestSchema _schema;
    private readonly DirectoryInfo _keys = Directory.CreateTempSubdirectory("sp-pgcrypt-");

    private EncryptedSchema(TestSchema schema)
    {
        _schema = schema;
        KeyFile = Path.Combine(_keys.FullName, "keys.json");
    }

    public string KeyFile { get; }

    public string Name => _schema.Name;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<EncryptedSchema> CreateAsync() => new(await PostgresServer.NewSchemaAsync());

    /// <summary>
    /// A started service over a store of its own (its own connection pool: another instance), sealing with the key
    /// file when <paramref name="encrypted"/>. The background re-encryption runs only when <paramref name="loop"/>, every
    /// <paramref name="interval"/> (100 ms unless given).
    /// </summary>
    public async Task<(StatePersistenceService Service, PostgresStateStore Store)> OpenAsync(bool encrypted, bool loop = false, TimeSpan? interval = null)
    {
        var options = new StatePersistenceOptions
        {
            ReencryptionInterval = loop ? interval ?? TimeSpan.FromMilliseconds(100) : TimeSpan.Zero,
            ScrubInterval = TimeSpan.Zero,
        };
        options.Encryption.KeyFile = encrypted ? KeyFile : null;
        var store = new PostgresStateStore(PostgresServer.ConnectionString, Name, options.ResolvePayloadCodec(hasStateDirectory: false));
        var service = new StatePersistenceService(options, store);
        await service.StartAsync(Ct);
        return (service, store);
    }

    /// <summary>A new schema populated (<see cref="PopulateAsync"/>) by an instance sealing with a new key file.</summary>
    public static async Task<EncryptedSchema> PopulatedAndSealedAsync()
    {
        EncryptedSchema schema = await CreateAsync();
        Encryption.EncryptionKeyFile.Create(schema.KeyFile);
        (StatePersistenceService writer, _) = await schema.OpenAsync(encrypted: true);
        await using (writer)
        {
            await PopulateAsync(writer);
        }

        return schema;
    }

    /// <summary>Tasks, the application's own properties, session logs and reports, each naming the texts above.</summary>
    public static async Task PopulateAsync(StatePersistenceService service)
    {
        await service.SaveStateAsync(new PersistedState
        {
            Sessions = [new SessionInfo { Id = "s-main", Type = "interactive", Status = "active" }],
            ExtensionData = new() { ["ui"] = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["note"] = Description }) },
        }, Ct);
        for (int i = 0; i < Items; i++)
        {
            await service.SaveTaskAsync(new AgentTask { Id = $"t{i}", Description = $"{i} {Description}", Status = i % 2 == 0 ? "pending" : "completed" }, Ct);
            await service.AppendSessionLogAsync($"s{i}", $"{SessionLine} {i}\n", Ct);
            await service.SaveReportAsync($"r{i}", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = $"{ReportText} {i}" }), Ct);
        }
    }

    public static async Task AssertEverythingIsBackAsync(StatePersistenceService service)
    {
        for (int i = 0; i < Items; i++)
        {
            Assert.Equal($"{i} {Description}", (await service.LoadTaskAsync($"t{i}", Ct))!.Description);
            Assert.Equal($"{SessionLine} {i}\n", await service.ReadSessionLogAsync($"s{i}", Ct));
            Assert.Equal($"{ReportText} {i}", (await service.LoadReportAsync($"r{i}", Ct))!.Value.GetProperty("summary").GetString());
        }

        Assert.Equal("active", (await service.LoadSessionAsync("s-main", Ct))!.Status);
        Assert.Equal(Description, (await service.LoadStateAsync(Ct)).ExtensionData!["ui"].GetProperty("note").GetString());
    }

    /// <summary>Waits (bounded, never a timing assertion) until the store's codec read the key file's change.</summary>
    public static async Task WaitForActiveKeyAsync(PostgresStateStore store, string? keyId)
    {
        for (int i = 0; i < 300 && store.ActiveKeyId != keyId; i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.Equal(keyId, store.ActiveKeyId);
    }

    /// <summary>Every stored payload of every table (a deletion in the change log holds none and is left out).</summary>
    public async Task<List<RawRow>> RawRowsAsync()
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand($"""
            SELECT 'items', kind || '/' || id, revision, body::text, sealed FROM {Name}.items
            UNION ALL SELECT 'changes', kind || '/' || id, revision, body::text, sealed FROM {Name}.changes WHERE body IS NOT NULL OR sealed IS NOT NULL
            UNION ALL SELECT 'session_logs', session_id, segment, NULL, payload FROM {Name}.session_logs
            UNION ALL SELECT 'reports', id, 0, NULL, payload FROM {Name}.reports
            """);
        var rows = new List<RawRow>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(new RawRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<byte[]>(4)));
        }

        return rows;
    }

    /// <summary>The rows whose payload names <paramref name="text"/> anywhere (a jsonb body or stored bytes).</summary>
    public async Task<List<RawRow>> RowsNamingAsync(string text) =>
        [.. (await RawRowsAsync()).Where(r => (r.Body?.Contains(text, StringComparison.Ordinal) ?? false)
            || (r.Bytes is { } bytes && bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0))];

    public async Task<long> ScalarAsync(string sql)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, sql, Name));
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await _schema.DisposeAsync();
        _keys.Delete(recursive: true);
    }
}

/// <summary>A stored row as PostgreSQL holds it: its table, its name, its number (revision or segment) and its value.</summary>
internal sealed record RawRow(string Table, string Name, long Number, string? Body, byte[]? Bytes)
{
    /// <summary>
    /// The key id its envelope names, read from the header (magic <c>SPEV</c>, version, flags, codec id length, key
    /// id length, codec id, key id); "" in the clear (a jsonb body, an identity envelope, plain JSON).
    /// </summary>
    public string KeyId
    {
        get
        {
            if (Bytes is not { Length: >= 8 } bytes || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != 0x56455053)
            {
                return "";
            }

            return Encoding.ASCII.GetString(bytes, 8 + bytes[6], bytes[7]);
        }
    }

    public override string ToString() => $"{Table}/{Name}@{Number} [{KeyId}]";
}
