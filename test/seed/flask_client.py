# The seed document's Flask client, verbatim (shared/seed/, section 2).
import requests
import json
import io
import cv2
img = cv2.imread('./1.jpg')
meta = io.StringIO(json.dumps({'shape': list(img.shape)}))
data = io.BytesIO(bytearray(img))
r = requests.post('http://localhost:8000/predict',
files={'meta': meta, 'blob' : data})
response = json.loads(r.content)
print("class label is:", response['label'])
