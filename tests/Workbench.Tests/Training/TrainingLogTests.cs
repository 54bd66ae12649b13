using Workbench.Training;

namespace Workbench.Tests.Training;

public class TrainingLogTests
{
    [Fact]
    public void LastStepIsTheStepOfTheLastRow()
    {
        var log = new TrainingLog();
        Assert.Equal(0, log.LastStep);
        log.Add(10, ("loss", 2.5));
        log.Add(20, ("eval", 1.0));
        Assert.Equal(20, log.LastStep);
    }

    [Fact]
    public void RowsWithDifferentMetricsRoundTripThroughCsv()
    {
        var log = new TrainingLog();
        log.Add(1, ("loss", 2.5));
        log.Add(2, ("loss", 2.0), ("test_bpd", 3.25));
        log.Add(3, ("loss", 1.5));
        var df = log.ToDataFrame();
        Assert.Equal(3, df.Rows.Count);
        Assert.Null(df["test_bpd"][0]);
        Assert.Equal(3.25, df["test_bpd"][1]);

        var path = Path.GetTempFileName();
        log.SaveCsv(path);
        var back = TrainingLog.LoadCsv(path);
        Assert.Equal(new long[] { 2 }, back.Series("test_bpd").Steps);
        Assert.Equal(new[] { 2.5, 2.0, 1.5 }, back.Series("loss").Values);
        Assert.Equal(1.5, back.Last("loss"));
        Assert.Throws<KeyNotFoundException>(() => back.Series("nope"));
    }
}
