using System.Text.Json.Nodes;

namespace Workbench.Tests.Notebooks;

public class JsonSchemaValidatorTests
{
    static IReadOnlyList<string> Check(string schema, string instance) =>
        new JsonSchemaValidator(JsonNode.Parse(schema)!).Validate(JsonNode.Parse(instance));

    [Theory]
    [InlineData("""{"type":"integer"}""", "3", true)]
    [InlineData("""{"type":"integer"}""", "3.5", false)]
    [InlineData("""{"type":["integer","null"]}""", "null", true)]
    [InlineData("""{"type":"string","pattern":"^[a-z]+$","minLength":2,"maxLength":3}""", "\"ab\"", true)]
    [InlineData("""{"type":"string","pattern":"^[a-z]+$"}""", "\"a-b\"", false)]
    [InlineData("""{"type":"string","maxLength":3}""", "\"abcd\"", false)]
    [InlineData("""{"enum":["a","b"]}""", "\"b\"", true)]
    [InlineData("""{"enum":["a","b"]}""", "\"c\"", false)]
    [InlineData("""{"type":"integer","minimum":1,"maximum":2}""", "0", false)]
    [InlineData("""{"type":"array","items":{"type":"string"},"minItems":1}""", "[\"x\"]", true)]
    [InlineData("""{"type":"array","items":{"type":"string"}}""", "[\"x\", 1]", false)]
    [InlineData("""{"type":"array","minItems":1}""", "[]", false)]
    [InlineData("""{"type":"array","uniqueItems":true}""", "[1,1]", false)]
    [InlineData("""{"required":["a"],"properties":{"a":{"type":"string"}},"additionalProperties":false}""", """{"a":"x"}""", true)]
    [InlineData("""{"required":["a"]}""", """{"b":1}""", false)]
    [InlineData("""{"properties":{"a":{}},"additionalProperties":false}""", """{"a":1,"b":2}""", false)]
    [InlineData("""{"additionalProperties":{"type":"string"},"patternProperties":{"^j":{}}}""", """{"a":"x","json":5}""", true)]
    [InlineData("""{"additionalProperties":{"type":"string"}}""", """{"a":5}""", false)]
    [InlineData("""{"oneOf":[{"type":"string"},{"type":"integer"}]}""", "1", true)]
    [InlineData("""{"oneOf":[{"type":"number"},{"type":"integer"}]}""", "1", false)]
    [InlineData("""{"not":{"type":"string"}}""", "\"x\"", false)]
    [InlineData("""{"definitions":{"d":{"e":{"type":"boolean"}}},"$ref":"#/definitions/d/e"}""", "true", true)]
    [InlineData("""{"definitions":{"d":{"e":{"type":"boolean"}}},"$ref":"#/definitions/d/e"}""", "1", false)]
    public void KeywordsBehaveAsDraft04Says(string schema, string instance, bool valid) =>
        Assert.Equal(valid, Check(schema, instance).Count == 0);

    [Fact]
    public void NbformatSchemaRejectsACodeCellWithoutExecutionCount()
    {
        var nb = JsonNode.Parse("""
            {"cells":[{"cell_type":"code","id":"a1","metadata":{},"source":"1","outputs":[]}],
             "metadata":{},"nbformat":4,"nbformat_minor":5}
            """);
        var errors = TestNotebooks.Schema.Validate(nb);
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.Contains("execution_count") || e.Contains("oneOf"));
    }

    [Fact]
    public void NbformatSchemaAcceptsAMinimalNotebook()
    {
        var nb = JsonNode.Parse("""
            {"cells":[{"cell_type":"code","id":"a1","metadata":{},"source":["1"],"outputs":[
               {"output_type":"stream","name":"stdout","text":["hi\n"]},
               {"output_type":"execute_result","execution_count":1,"data":{"text/plain":["1"]},"metadata":{}}],
               "execution_count":1},
              {"cell_type":"markdown","id":"b2","metadata":{},"source":"# x"}],
             "metadata":{"kernelspec":{"name":".net-csharp","display_name":".NET (C#)"}},"nbformat":4,"nbformat_minor":5}
            """);
        Assert.Empty(TestNotebooks.Schema.Validate(nb));
    }
}
