using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A JSON number PostgreSQL's <c>numeric</c> cannot hold (more than 131,072 digits before the decimal point or 16,383
/// after, however it is written) is refused on every store alike, 400 naming the field, as the NUL character is. The
/// security audit found <c>{"result":1e999999999}</c> stored by the file store, while on PostgreSQL it failed the
/// commit ("value overflows numeric format", a 500) and with it the valid writes committed in the same group:
/// 34 of 40 concurrent valid PUTs failed.
/// </summary>
public sealed class NumberRangeTests
{
    public static TheoryData<string> Refused => new()
    {
        "1e131072",
        "1e999999999",
        "1E+99999999999999999999999",
        "0.5e131073",
        "1e-16384",
        "1.5e-16383",
        "0e-999999",
        "-1e-100000",
        "1" + new string('0', 131_072),
        "0." + new string('1', 16_384),
    };

    public static TheoryData<string> Accepted => new()
    {
        "1e131071",
        "9.9e131071",
        "-1e131071",
        "1e-16383",
        "0e999999",
        "0.0e131073",
        "12.5",
        "1" + new string('0', 131_071),
        "0." + new string('1', 16_383),
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task ANumberNumericCannotHold_Is400NamingTheField_AndNothingIsStored(string number)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        JsonElement put = await (await client.PutJsonAsync("/api/tasks/task_1", $$$"""{"description":"d","result":{"deep":[{{{number}}}]}}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        JsonElement report = await (await client.PostJsonAsync("/api/reports", $$"""{"id":"r1","type":"t","data":{{number}}}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("deep", put.Str("field"));
        Assert.Equal("data", report.Str("field"));
        Assert.Contains("numeric", put.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetUrlAsync("/api/reports/r1")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public async Task ANumberNumericHolds_IsStored(string number)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        await (await client.PutJsonAsync("/api/tasks/task_1", $$"""{"description":"d","result":{{number}}}""")).ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task OnPostgres_ANumberNumericCannotHold_NoLongerFailsTheValidWritesCommittedBesideIt()
    {
        await using var database = new PostgresSchemaScope("num");
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), database.ServerArguments);

        // Before the check, 34 of 40 valid PUTs racing these failed with their commit group (500 or 503).
        HttpResponseMessage[] answers = await Task.WhenAll(Enumerable.Range(0, 40).SelectMany(i => new[]
        {
            server.Client.PutJsonAsync($"/api/tasks/good_{i}", """{"description":"d"}"""),
            server.Client.PutJsonAsync($"/api/tasks/bad_{i}", """{"description":"d","result":1e999999999}"""),
        }));

        Assert.All(answers.Where((_, i) => i % 2 == 0), a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        Assert.All(answers.Where((_, i) => i % 2 == 1), a => Assert.Equal(HttpStatusCode.BadRequest, a.StatusCode));
        Assert.Equal(40, (await (await server.Client.GetUrlAsync("/api/tasks")).ExpectAsync(HttpStatusCode.OK)).GetArrayLength());
    }
}
