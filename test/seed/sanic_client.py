# The seed document's Sanic client, verbatim (shared/seed/, section 2).
import requests
import json
import io
img_name = './1.jpg'
headers = {'Content-type': 'image/jpg'}
# r = requests.put('http://localhost:8000/image',data=open(img_name, "rb"),headers=headers)
r = requests.post('http://localhost:8000/image',data=open(img_name, "rb"),headers=headers)
response = json.loads(r.content)
print("class label is:", response['label'])
