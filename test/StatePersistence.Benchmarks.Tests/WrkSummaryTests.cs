using StatePersistence.Benchmarks.Cases.Http;
using StatePersistence.Benchmarks.Harness;

namespace StatePersistence.Benchmarks.Tests;

public class WrkSummaryTests
{
    // What wrk 4.1 printed here for a PUT run against the state server (trimmed of nothing).
    private const string Clean = """
        Running 8s test @ http://127.0.0.1:5099
          1 threads and 64 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency    12.11ms    3.39ms  43.49ms   89.88%
            Req/Sec     5.37k   796.38     6.22k    64.29%
          Latency Distribution
             50%   11.42ms
             75%   13.01ms
             90%   15.77ms
             99%   24.30ms
          42828 requests in 8.01s, 49.58MB read
        Requests/sec:   5346.81
        Transfer/sec:      6.19MB
        """;

    [Fact]
    public void Parse_ReadsCountTimeAndLatencies()
    {
        ExternalRound round = WrkSummary.Parse(Clean);

        Assert.Equal(42828, round.Ops);
        Assert.Equal(8.01, round.Seconds, 6);
        Assert.Equal(11_420, round.P50Micros, 6);
        Assert.Equal(24_300, round.P99Micros, 6);
        Assert.Equal(43_490, round.MaxMicros, 6);
    }

    [Fact]
    public void Parse_MicrosecondAndSecondUnits()
    {
        string output = Clean.Replace("11.42ms", "842.00us", StringComparison.Ordinal).Replace("43.49ms", "1.20s", StringComparison.Ordinal);
        ExternalRound round = WrkSummary.Parse(output);

        Assert.Equal(842, round.P50Micros, 6);
        Assert.Equal(1_200_000, round.MaxMicros, 6);
    }

    [Theory]
    [InlineData("  Non-2xx or 3xx responses: 17\n", "17 non-2xx")]
    [InlineData("  Socket errors: connect 0, read 0, write 0, timeout 5\n", "socket errors")]
    public void Parse_RefusedOrFailedRequests_FailTheRound(string line, string named)
    {
        string output = Clean.Replace("Requests/sec:", line + "Requests/sec:", StringComparison.Ordinal);

        var error = Assert.Throws<InvalidDataException>(() => WrkSummary.Parse(output));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnexpectedOutput_IsRefused() =>
        Assert.Throws<InvalidDataException>(() => WrkSummary.Parse("unable to connect to 127.0.0.1:1 Connection refused"));
}
